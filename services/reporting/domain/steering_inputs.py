"""What the steering figures are computed from: one row per visit, question and desk
session, read from the facts (``adapters/steering_reader.py``). Pure data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from shared.errors import InvalidInput


@dataclass(frozen=True, slots=True)
class VisitRow:
    visit_id: str
    office_id: str
    service_day: str
    wait_seconds: float | None = None  # registered → first call
    service_seconds: float | None = None  # the visit's steps at a desk
    ended: bool = False
    question_count: int = 0
    treatment: int | None = None  # survey answers (None: not answered)
    time: int | None = None
    got_help: bool | None = None
    estimated_wait_minutes: float | None = None  # shown at the kiosk


@dataclass(frozen=True, slots=True)
class QuestionRow:
    question_id: str
    visit_id: str
    office_id: str
    service_day: str
    recorded_at: datetime | None = None
    level: str | None = None
    agency: str | None = None
    case_type: str | None = None
    outcome: str | None = None  # answered | referred | forwarded
    forwarded_at: datetime | None = None
    decided_at: datetime | None = None
    person: str | None = None  # the pseudonym; None: asked without an identity number


@dataclass(frozen=True, slots=True)
class SessionRow:
    office_id: str
    service_day: str
    staffed_seconds: float | None


@dataclass(frozen=True, slots=True)
class Period:
    first: date
    last: date

    def __post_init__(self) -> None:
        if self.last < self.first:
            raise InvalidInput("the period ends before it starts", {"from": str(self.first), "to": str(self.last)})

    def holds(self, service_day: str) -> bool:
        return self.first.isoformat() <= service_day <= self.last.isoformat()

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1


def period_of(first: date | None, last: date | None, days: list[str]) -> Period | None:
    """The asked period, its open ends closed by the data's first and last day; None
    when there is no data and no period was asked."""
    known = sorted(days)
    start = first or (date.fromisoformat(known[0]) if known else None)
    end = last or (date.fromisoformat(known[-1]) if known else None)
    if start is None or end is None:
        return None
    return Period(start, end)


def shift(day: date, days: int) -> date:
    """``day`` moved by ``days``, held within the calendar (no overflow at year 1 or 9999)."""
    try:
        return day + timedelta(days=days)
    except OverflowError:
        return date.max if days > 0 else date.min
