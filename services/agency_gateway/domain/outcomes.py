"""What one attempt to reach an agency can end in, and when to try again."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Accepted:
    """The agency has the case (first time, or a duplicate it recognised)."""

    reference: str


@dataclass(frozen=True)
class Rejected:
    """The agency refused the case; sending it again would not help."""

    reason: str


@dataclass(frozen=True)
class TransientFailure:
    """Worth another try later: 5xx, timeout, connection error, 429."""

    reason: str
    retry_after: float | None = None


Outcome = Accepted | Rejected | TransientFailure


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff: ``initial * 2**(attempt-1)`` capped at ``maximum``, then
    shortened by up to ``jitter`` (a fraction) so failed cases do not retry in lockstep.
    ``max_attempts`` 0 means retry for ever (an agency may be down for a day)."""

    initial: float = 0.5
    maximum: float = 30.0
    jitter: float = 0.5
    max_attempts: int = 0

    def delay(self, attempt: int, rand: float, retry_after: float | None = None) -> float:
        base = min(self.maximum, self.initial * 2 ** min(attempt - 1, 60))
        delay = base * (1 - self.jitter * rand)
        if retry_after is not None:
            delay = max(delay, min(retry_after, 3600.0))
        return delay

    def gives_up(self, attempt: int) -> bool:
        return 0 < self.max_attempts <= attempt
