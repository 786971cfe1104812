"""Commands the gateway accepts from people and agencies: imperative, validated at the
edge (the API), handled by ``handlers``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from services.agency_gateway.domain.events import AgencyMeetingStatus, AgencyStatus


@dataclass(frozen=True)
class ReplayDeadLetter:
    question_id: str
    actor: str
    reason: str | None = None


@dataclass(frozen=True)
class ReplayDeadLetters:
    """Every dead letter (of one agency, if named), at most ``limit``."""

    actor: str
    reason: str | None = None
    agency: str | None = None
    limit: int = 1000


@dataclass(frozen=True)
class RecordAgencyUpdate:
    """A status callback whose signature and timestamp have been checked."""

    agency: str
    callback_id: str
    case_id: str
    status: AgencyStatus
    reference: str | None
    note: str | None
    occurred_at: datetime


@dataclass(frozen=True)
class RecordMeetingUpdate:
    """A meeting callback whose signature and timestamp have been checked; ``slot_start``
    is the new time of a ``moved`` meeting."""

    agency: str
    callback_id: str
    booking_id: str
    status: AgencyMeetingStatus
    reference: str | None
    slot_start: datetime | None
    note: str | None
    occurred_at: datetime


@dataclass(frozen=True)
class PublishAgencySlots:
    """An agency's slots, checked at the edge (its own agency, known codes)."""

    publication_id: str
    agency: str
    case_types: tuple[str, ...]
    kind: str
    office_ids: tuple[str, ...]
    starts: tuple[datetime, ...]
    length_minutes: int
