"""The simulator's failure modes, decided per request (no I/O here).

- ``error_rate``: answer a 5xx without taking the case;
- ``timeout_rate``: take the case, then answer only after ``hang_seconds`` (the gateway
  has given up by then, so its retry must be recognised as a duplicate);
- ``latency_ms``: every answer waits a uniform draw from ``[min, max]``;
- outage windows: every request to the agency fails until the window ends, either at
  once with 503 (``mode="error"``) or by hanging (``mode="hang"``, the harsher one);
- the count-based fault of ``POST /v1/agencies/{agency}/faults``: the next N answers.
Faults hold for every agency (``defaults``) or one (``agencies``); kept in memory only.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Action = Literal["ok", "error", "timeout", "outage"]


class Faults(BaseModel):
    model_config = ConfigDict(extra="forbid")
    error_rate: float = Field(default=0.0, ge=0, le=1)
    error_statuses: list[int] = Field(default=[500, 502, 503], min_length=1)
    timeout_rate: float = Field(default=0.0, ge=0, le=1)
    hang_seconds: float = Field(default=30.0, ge=0, le=3600)
    latency_ms: tuple[float, float] = (0.0, 0.0)

    @model_validator(mode="after")
    def _sane(self) -> Faults:
        if self.error_rate + self.timeout_rate > 1:
            raise ValueError("error_rate + timeout_rate must not exceed 1")
        if not 0 <= self.latency_ms[0] <= self.latency_ms[1] <= 600_000:
            raise ValueError("latency_ms must be [min, max] with 0 <= min <= max")
        if any(not 500 <= s <= 599 for s in self.error_statuses):
            raise ValueError("error_statuses must be 5xx")
        return self


class Outage(BaseModel):
    model_config = ConfigDict(extra="forbid")
    since: float = 0.0  # Unix time
    until: float
    mode: Literal["error", "hang"] = "error"


@dataclass(frozen=True)
class Decision:
    action: Action
    latency: float = 0.0  # seconds before anything happens
    status: int = 201
    hang: float = 0.0  # seconds to hold the answer (timeout, hanging outage)


@dataclass
class FaultPlan:
    defaults: Faults = field(default_factory=Faults)
    agencies: dict[str, Faults] = field(default_factory=dict)
    outages: dict[str, Outage] = field(default_factory=dict)
    injected: dict[str, list[int]] = field(default_factory=dict)  # agency -> [status, count]
    rng: random.Random = field(default_factory=random.Random)
    seen: dict[str, dict[str, int]] = field(default_factory=dict)  # agency -> action -> n

    def faults_of(self, agency: str) -> Faults:
        return self.agencies.get(agency, self.defaults)

    def outage_of(self, agency: str, now: float) -> Outage | None:
        outage = self.outages.get(agency)
        return outage if outage and outage.since <= now < outage.until else None

    def decide(self, agency: str, now: float) -> Decision:
        decision = self._decide(agency, now)
        counts = self.seen.setdefault(agency, {})
        counts[decision.action] = counts.get(decision.action, 0) + 1
        return decision

    def _decide(self, agency: str, now: float) -> Decision:
        faults = self.faults_of(agency)
        latency = self.rng.uniform(*faults.latency_ms) / 1000
        if (injected := self.injected.get(agency)) and injected[1] > 0:
            injected[1] -= 1
            return Decision("error", latency, injected[0])
        if outage := self.outage_of(agency, now):
            hang = min(faults.hang_seconds, outage.until - now) if outage.mode == "hang" else 0
            return Decision("outage", latency, 503, hang)
        draw = self.rng.random()
        if draw < faults.error_rate:
            return Decision("error", latency, self.rng.choice(faults.error_statuses))
        if draw < faults.error_rate + faults.timeout_rate:
            return Decision("timeout", latency, 201, faults.hang_seconds)
        return Decision("ok", latency)

    def reset(self) -> None:
        self.defaults, self.agencies, self.outages, self.injected = Faults(), {}, {}, {}
