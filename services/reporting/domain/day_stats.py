"""Answers of ``GET /v1/stats/waits``: waiting and service times in minutes (mean, median,
90th percentile by nearest rank), no-shows, transfers, recalls and visits per channel,
grouped by office, queue, hour of day or weekday. Pure functions.

Visits, their channels and their waits are counted where and when the visit was
registered (its office, its first queue, the local hour and weekday of registration).
Service times, no-shows, transfers and recalls belong to service steps: counted in the
step's queue, at the local hour and weekday of its call.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from services.reporting.domain.stats import StatsFilter, percentile
from shared.errors import InvalidInput

WAIT_GROUPS = ("office", "queue", "hour", "weekday")
CHANNELS = ("kiosk", "desk", "self_service")
_LABEL = {"office": "office_id", "queue": "queue", "hour": "hour", "weekday": "weekday"}


def check_waits_query(f: StatsFilter, group_by: str) -> str:
    if group_by not in WAIT_GROUPS:
        raise InvalidInput(f"cannot group waits by {group_by!r}", {"known": list(WAIT_GROUPS)})
    if f.narrows_questions:
        raise InvalidInput("waits are per office, queue, hour and weekday: filter by period and office",
                           {"not_allowed": ["agency", "case_type", "level"]})
    return group_by


@dataclass
class _Group:
    visits: int = 0
    channels: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CHANNELS, 0))
    waits: list[float] = field(default_factory=list)
    services: list[float] = field(default_factory=list)
    no_shows: int = 0
    transfers: int = 0
    recalls: int = 0


def minutes(seconds: Sequence[float]) -> dict[str, float | None]:
    """Mean, median and p90 in minutes, to 0.001 min (60 ms): a wait of a second in a
    compressed demo day, or a quick desk, must not read as zero."""
    if not seconds:
        return {"mean": None, "median": None, "p90": None}
    p90 = percentile(seconds, 0.9)
    return {"mean": round(statistics.fmean(seconds) / 60, 3),
            "median": round(statistics.median(seconds) / 60, 3),
            "p90": round(p90 / 60, 3) if p90 is not None else None}


def wait_rows(
    group_by: str, visits: Iterable[Sequence[Any]], steps: Iterable[Sequence[Any]],
    office_names: Mapping[str, str],
) -> list[dict[str, Any]]:
    """``visits``: (key, channel, wait_seconds); ``steps``: (key, service_seconds,
    end_reason, recalls)."""
    groups: dict[Any, _Group] = defaultdict(_Group)
    for key, channel, wait in visits:
        g = groups[key]
        g.visits += 1
        g.channels[channel] = g.channels.get(channel, 0) + 1
        if wait is not None:
            g.waits.append(wait)
    for key, service, reason, recalls in steps:
        g = groups[key]
        g.recalls += recalls or 0
        g.no_shows += reason == "no_show"
        g.transfers += reason == "transferred"
        if service is not None:
            g.services.append(service)
    return [_row(group_by, key, g, office_names) for key, g in sorted(groups.items(), key=lambda kv: str(kv[0]))
            if key is not None]


def _row(group_by: str, key: Any, g: _Group, office_names: Mapping[str, str]) -> dict[str, Any]:
    row: dict[str, Any] = {_LABEL[group_by]: key}
    if group_by == "office":
        row["office_name"] = office_names.get(key, key)
    wait, service = minutes(g.waits), minutes(g.services)
    row.update({
        "visits": g.visits, "called": len(g.waits),
        "mean_wait_minutes": wait["mean"], "median_wait_minutes": wait["median"],
        "p90_wait_minutes": wait["p90"],
        "service_steps": len(g.services), "mean_service_minutes": service["mean"],
        "median_service_minutes": service["median"], "p90_service_minutes": service["p90"],
        "no_shows": g.no_shows, "transfers": g.transfers, "recalls": g.recalls,
        "channels": g.channels,
    })
    return row
