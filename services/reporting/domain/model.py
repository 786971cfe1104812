"""Reporting's read-model records and the rules that fill them.

A record is one row of the reporting store. Events of three topics fill it in any order,
so every field starts empty and each event sets only the fields it owns. Question text and
identity numbers have no field here: they can never reach the store.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

DELIVERED = "delivered"


def as_utc(moment: datetime | None) -> datetime | None:
    """Aware UTC; a naive value (as SQLite returns it) is taken to be UTC already."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def local_day(moment: datetime, tz: ZoneInfo) -> str:
    """The ``YYYY-MM-DD`` day ``moment`` falls on in the office's time zone."""
    aware = as_utc(moment)
    assert aware is not None
    return aware.astimezone(tz).date().isoformat()


def seconds_between(start: datetime | None, end: datetime | None) -> float | None:
    """Elapsed seconds, never negative (clock skew between hosts counts as 0)."""
    start, end = as_utc(start), as_utc(end)
    if start is None or end is None:
        return None
    return max(0.0, (end - start).total_seconds())


def earliest(current: datetime | None, new: datetime) -> datetime:
    current = as_utc(current)
    new_utc = as_utc(new)
    assert new_utc is not None
    return new_utc if current is None else min(current, new_utc)


def next_delivery_status(current: str | None, new: str) -> str:
    """The gateway's topic is ordered per visit, so the latest event wins, except that a
    delivered case stays delivered."""
    return current if current == DELIVERED else new


@dataclass
class VisitRecord:
    visit_id: str
    office_id: str | None = None
    channel: str | None = None
    agency_hint: str | None = None
    service_day: str | None = None
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


@dataclass
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
    overridden: bool = False
    outcome: str | None = None
    routed_at: datetime | None = None
    delivery_status: str | None = None
    delivery_attempts: int = 0
    agency_reference: str | None = None
    forwarded_at: datetime | None = None

    def place(self, office_id: str | None, service_day: str | None) -> None:
        """Fill office and day when no earlier event has set them."""
        self.office_id = self.office_id or office_id
        self.service_day = self.service_day or service_day
