"""Erlang C: how many desks keep a share of waits under a target (M/M/c queue: visitors
arrive at random, service times exponential with the measured mean). Pure."""

from __future__ import annotations

import math


def erlang_c(desks: int, load: float) -> float:
    """Probability that a visitor has to wait, with ``load`` = arrival rate × mean service
    time (erlangs); 1 when the desks cannot keep up."""
    if desks <= load:
        return 1.0
    b = 1.0  # Erlang B, built up desk by desk (numerically stable)
    for k in range(1, desks + 1):
        b = load * b / (k + load * b)
    return desks * b / (desks - load * (1 - b))


def share_within(desks: int, per_hour: float, service_minutes: float, target_minutes: float) -> float:
    """Share of visitors called within ``target_minutes``."""
    if per_hour <= 0:
        return 1.0
    rate, load = per_hour / 60, per_hour / 60 * service_minutes
    if desks <= load:
        return 0.0
    return 1 - erlang_c(desks, load) * math.exp(-(desks / service_minutes - rate) * target_minutes)


def desks_needed(per_hour: float, service_minutes: float, target_minutes: float = 15, share: float = 0.9) -> int:
    if per_hour <= 0:
        return 0
    desks = max(1, math.floor(per_hour / 60 * service_minutes))
    while share_within(desks, per_hour, service_minutes, target_minutes) < share:
        desks += 1
    return desks
