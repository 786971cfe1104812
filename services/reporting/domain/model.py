"""Reporting's read-model records and the small rules that fill them.

A record is one row of a fact table. Events of three topics fill it in any order, so every
field starts empty and each event sets only the fields it owns (see ``fact_rules``). Question
text, notes, reasons, handler names and identity numbers have no field here: they can
never reach the store.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

DELIVERED = "delivered"
# Which delivery status wins when two gateway events name the same attempt.
_STATUS_RANK = {"pending": 0, "failed": 1, "dead_lettered": 2, DELIVERED: 3}


def as_utc(moment: datetime | None) -> datetime | None:
    """Aware UTC; a naive value (as SQLite returns it) is taken to be UTC already."""
    if moment is None or moment.tzinfo is UTC:
        return moment
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def local_day(moment: datetime, tz: ZoneInfo) -> str:
    """The ``YYYY-MM-DD`` day ``moment`` falls on in the office's time zone."""
    aware = as_utc(moment)
    assert aware is not None
    return aware.astimezone(tz).date().isoformat()


def seconds_between(start: datetime | None, end: datetime | None) -> float | None:
    """Elapsed seconds to the millisecond, never negative (clock skew between hosts
    counts as 0)."""
    start, end = as_utc(start), as_utc(end)
    if start is None or end is None:
        return None
    return max(0.0, round((end - start).total_seconds(), 3))


def earliest(current: datetime | None, new: datetime) -> datetime:
    current = as_utc(current)
    new_utc = as_utc(new)
    assert new_utc is not None
    return new_utc if current is None else min(current, new_utc)


def is_newer(current: datetime | None, new: datetime) -> bool:
    """True when ``new`` is at least as late as ``current`` (or nothing is known yet)."""
    return current is None or as_utc(new) >= as_utc(current)  # type: ignore[operator]


def next_delivery_status(
    current: str | None, current_attempt: int, new: str, new_attempt: int
) -> str:
    """Order-free: a delivered case stays delivered; otherwise the status of the highest
    attempt wins (on a tie the later stage: pending < failed < dead_lettered)."""
    if current == DELIVERED or current is None:
        return current or new
    if new == DELIVERED:
        return new
    mine = (current_attempt, _STATUS_RANK.get(current, 0))
    return new if (new_attempt, _STATUS_RANK.get(new, 0)) >= mine else current


@dataclass(slots=True)
class VisitRecord:
    visit_id: str
    office_id: str | None = None
    channel: str | None = None
    agency_hint: str | None = None
    service_day: str | None = None
    registered_hour: int | None = None
    registered_weekday: int | None = None
    registered_at: datetime | None = None
    called_at: datetime | None = None
    ended_at: datetime | None = None
    wait_seconds: float | None = None
    service_seconds: float | None = None
    question_count: int = 0
    satisfaction_treatment: int | None = None
    satisfaction_time: int | None = None
    satisfaction_got_help: bool | None = None

    def update_durations(self) -> None:
        """Wait: registered to first call. Service: first call to the end of the visit."""
        self.wait_seconds = seconds_between(self.registered_at, self.called_at)
        self.service_seconds = seconds_between(self.called_at, self.ended_at)


@dataclass(slots=True)
class QuestionRecord:
    question_id: str
    visit_id: str
    office_id: str | None = None
    service_day: str | None = None
    recorded_at: datetime | None = None
    hint_agency: str | None = None
    hint_case_type: str | None = None
    level: str | None = None
    agency: str | None = None
    case_type: str | None = None
    confidence: float | None = None
    destination: str | None = None
    needs_review: bool | None = None
    classified_at: datetime | None = None
    classified_level: str | None = None
    classified_agency: str | None = None
    classified_case_type: str | None = None
    overridden: bool = False
    overridden_at: datetime | None = None
    outcome: str | None = None
    routed_at: datetime | None = None
    queued_at: datetime | None = None
    delivery_status: str | None = None
    delivery_attempts: int = 0
    failed_attempts: int = 0
    agency_reference: str | None = None
    forwarded_at: datetime | None = None
    dead_lettered_at: datetime | None = None
    forward_seconds: float | None = None

    def place(self, office_id: str | None, service_day: str | None) -> None:
        """Fill office and day when no earlier event has set them."""
        self.office_id = self.office_id or office_id
        self.service_day = self.service_day or service_day

    def update_forwarding(self) -> None:
        """Every gateway outcome counts one attempt: all but a delivered one failed.
        Latency: from routing (or queueing) to the agency's acceptance."""
        status, attempts = self.delivery_status, self.delivery_attempts
        self.failed_attempts = (
            max(0, attempts - 1) if status == DELIVERED else attempts if status in _FAILING else 0
        )
        self.forward_seconds = seconds_between(self.routed_at or self.queued_at, self.forwarded_at)


_FAILING = ("failed", "dead_lettered")
