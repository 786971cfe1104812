"""The calendar's and the bookings' commands (docs/bookings.md)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class PublishSlots:
    office_ids: tuple[str, ...]
    agency: str
    case_types: tuple[str, ...]
    kind: str
    starts: tuple[datetime, ...]
    length_minutes: int
    published_by: str
    source: str = "office"
    publication_id: str | None = None


@dataclass(frozen=True)
class DeclareRooms:
    office_id: str
    rooms: tuple[str, ...]
    declared_by: str


@dataclass(frozen=True)
class MakeBooking:
    office_id: str
    agency: str
    case_type: str
    kind: str
    slot_start: datetime
    channel: str  # kiosk | desk (the caller's role)
    booked_by: str
    question_id: str | None = None
    visit_id: str | None = None
    personal_identity_number: str | None = None
    name: str | None = None
    phone: str | None = None


@dataclass(frozen=True)
class CancelBooking:
    booking_id: str
    cancelled_by: str  # visitor | office | agency
    reason: str | None = None


@dataclass(frozen=True)
class CheckIn:
    office_id: str
    code: str


@dataclass(frozen=True)
class RecordOutcome:
    booking_id: str
    outcome: str
    note: str | None = None
