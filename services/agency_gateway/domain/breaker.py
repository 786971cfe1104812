"""A circuit breaker per agency, so one agency's outage costs the others nothing.

Closed: calls go. After ``threshold`` transient failures in a row it opens: no calls for
``cooldown`` seconds (the agency's due cases wait in the table, nothing is lost). Then
half-open: one probe call; success closes it, failure opens it again for twice as long
(up to ``max_cooldown``). A refusal (4xx) is an answer: it shows the agency is up.
Times are monotonic seconds, given by the caller.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

BreakerState = Literal["closed", "open", "half_open"]


@dataclass
class CircuitBreaker:
    threshold: int = 10
    cooldown: float = 5.0
    max_cooldown: float = 60.0
    failures: int = 0  # transient failures in a row
    opened_until: float | None = None
    current_cooldown: float = 0.0
    probing: bool = False
    times_opened: int = 0

    def state(self, now: float) -> BreakerState:
        if self.opened_until is None:
            return "closed"
        return "open" if now < self.opened_until else "half_open"

    def room(self, now: float) -> int | None:
        """How many calls may start now: None for no limit (closed)."""
        state = self.state(now)
        if state == "closed":
            return None
        return 1 if state == "half_open" and not self.probing else 0

    def started(self, now: float) -> None:
        if self.state(now) == "half_open":
            self.probing = True

    def succeeded(self) -> None:
        self.failures, self.opened_until, self.current_cooldown = 0, None, 0.0
        self.probing = False

    def failed(self, now: float) -> None:
        self.failures += 1
        state = self.state(now)
        if state == "half_open" and self.probing:
            self._open(now, min(self.max_cooldown, self.current_cooldown * 2))
        elif state == "closed" and self.failures >= self.threshold:
            self._open(now, self.cooldown)

    def settled(self) -> None:
        """A call ended with no verdict on the agency's health (e.g. a 4xx)."""
        self.probing = False

    def reopens_in(self, now: float) -> float | None:
        if self.opened_until is None or now >= self.opened_until:
            return None
        return self.opened_until - now

    def _open(self, now: float, cooldown: float) -> None:
        self.current_cooldown = cooldown
        self.opened_until = now + cooldown
        self.probing = False
        self.times_opened += 1
