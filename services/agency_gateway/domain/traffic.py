"""Which agencies may be called now: calls in flight (in total and per agency) and each
agency's circuit breaker. The delivery worker asks before it claims work and reports
every call's start and end. In memory: a restarted worker starts with closed breakers."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from services.agency_gateway.domain.breaker import CircuitBreaker
from services.agency_gateway.domain.outcomes import Accepted, Outcome, Rejected


@dataclass
class Traffic:
    total_cap: int
    cap_of: Callable[[str], int]
    new_breaker: Callable[[], CircuitBreaker] = CircuitBreaker
    in_flight: dict[str, str] = field(default_factory=dict)  # question id -> agency
    breakers: dict[str, CircuitBreaker] = field(default_factory=dict)

    def breaker(self, agency: str) -> CircuitBreaker:
        if agency not in self.breakers:
            self.breakers[agency] = self.new_breaker()
        return self.breakers[agency]

    def busy(self) -> Counter[str]:
        return Counter(self.in_flight.values())

    def free_slots(self) -> int:
        return self.total_cap - len(self.in_flight)

    def room(self, agency: str, now: float, busy: Counter[str] | None = None) -> int:
        """How many more calls to ``agency`` may start now."""
        used = (busy if busy is not None else self.busy())[agency]
        cap = self.cap_of(agency) - used
        allowed = self.breaker(agency).room(now)
        return max(0, cap if allowed is None else min(cap, allowed))

    def blocked(self, now: float) -> set[str]:
        """Agencies that may not get a call now (full, or their breaker is open)."""
        busy = self.busy()
        known = set(busy) | set(self.breakers)
        return {agency for agency in known if self.room(agency, now, busy) <= 0}

    def started(self, question_id: str, agency: str, now: float) -> None:
        self.in_flight[question_id] = agency
        self.breaker(agency).started(now)

    def finished(self, question_id: str, outcome: Outcome | None, now: float) -> None:
        """``outcome`` None: the call ended without an answer worth judging (cancelled)."""
        agency = self.in_flight.pop(question_id, None)
        if agency is None:
            return
        breaker = self.breaker(agency)
        if isinstance(outcome, Accepted | Rejected):
            breaker.succeeded()
        elif outcome is None:
            breaker.settled()
        else:
            breaker.failed(now)

    def next_change(self, now: float) -> float | None:
        """Seconds until the first open breaker lets a probe through."""
        waits = [w for b in self.breakers.values() if (w := b.reopens_in(now)) is not None]
        return min(waits, default=None)

    def snapshot(self, now: float) -> dict[str, dict[str, Any]]:
        busy = self.busy()
        return {
            agency: {
                "breaker": breaker.state(now),
                "failures_in_a_row": breaker.failures,
                "times_opened": breaker.times_opened,
                "in_flight": busy[agency],
            }
            for agency, breaker in sorted(self.breakers.items())
        }
