"""The calendar's and the bookings' API schemas (docs/bookings.md): exact field names of
the contract. Personal data enters only in its own fields (sealed at once); free text
(a reason, a note) is masked as it is read."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from shared.input_checks import free_text

Code = Annotated[str, StringConstraints(pattern=r"^[a-z_]{2,40}$")]
OfficeIdField = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{1,59}$")]
Room = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,59}$")]
Kind = Literal["video", "in_person"]
Outcome = Literal["held", "agency_absent", "technical_failure", "visitor_left"]
BookingStatus = Literal["booked", "moved", "checked_in", "held", "cancelled", "no_show"]
EARLIEST, LATEST = datetime(2000, 1, 1).date(), datetime(2100, 1, 1).date()


def in_range(at: datetime) -> datetime:
    """A meeting's time: years 2000-2099 (the calendar's arithmetic stays in range)."""
    if not EARLIEST <= at.date() < LATEST:
        raise ValueError("must be a time in the years 2000-2099")
    return at


MeetingTime = Annotated[datetime, AfterValidator(in_range)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SlotPublic(BaseModel):
    slot_id: str
    slot_start: datetime
    length_minutes: int
    agency: str
    case_types: list[str]
    kind: Kind
    office_id: str


class SlotsPublic(BaseModel):
    slots: list[SlotPublic]


class SlotsCreate(Strict):
    agency: Code
    case_types: list[Code] = Field(min_length=1, max_length=40)
    kind: Kind
    starts: list[MeetingTime] = Field(min_length=1, max_length=500)
    length_minutes: int = Field(ge=5, le=480)


class SlotsCreated(BaseModel):
    publication_id: str
    slots: int


class RoomsPut(Strict):
    rooms: list[Room] = Field(max_length=50)


class RoomsPublic(BaseModel):
    office_id: str
    rooms: list[str]


class BookingCreate(Strict):
    office_id: OfficeIdField
    agency: Code
    case_type: Code
    kind: Kind
    slot_start: MeetingTime
    question_id: Annotated[str, StringConstraints(max_length=36)] | None = None
    visit_id: Annotated[str, StringConstraints(max_length=36)] | None = None
    # Sealed with the booking's own key at once; never shown again in clear.
    personal_identity_number: Annotated[str, StringConstraints(max_length=20)] | None = None
    name: Annotated[str, StringConstraints(min_length=1, max_length=120, strip_whitespace=True)] | None = None
    phone: Annotated[str, StringConstraints(pattern=r"^\+?[0-9 ()-]{5,24}$")] | None = None


class BookingCreated(BaseModel):
    booking_id: str
    code: str
    status: str
    office_id: str
    agency: str
    case_type: str
    kind: Kind
    slot_start: datetime
    length_minutes: int
    room: str | None


class MovePublic(BaseModel):
    from_start: datetime
    slot_start: datetime
    room: str | None
    moved_by: str
    moved_at: datetime


class BookingPublic(BookingCreated):
    agency_status: str
    channel: str
    question_id: str | None
    visit_id: str | None
    booked_at: datetime | None
    moves: list[MovePublic]
    cancelled_by: str | None
    outcome: str | None
    has_identity_number: bool
    has_name: bool
    phone_masked: str | None


class BookingCancelledPublic(BaseModel):
    booking_id: str
    status: Literal["cancelled"]


class CheckInCreate(Strict):
    office_id: OfficeIdField
    code: Annotated[str, StringConstraints(min_length=4, max_length=12, strip_whitespace=True)]


class CheckedInPublic(BaseModel):
    booking_id: str
    visit_id: str
    ticket: str
    queue: str
    office_id: str
    slot_start: datetime
    room: str | None


class OutcomeCreate(Strict):
    outcome: Outcome
    note: free_text(1000) | None = None  # type: ignore[valid-type]


class OutcomePublic(BaseModel):
    booking_id: str
    status: str
    outcome: str


class ErasedPublic(BaseModel):
    booking_id: str
    erased: bool


class BookingLine(BaseModel):
    """A booking in a visit's overview and an office's day list: no personal data."""

    booking_id: str
    code: str
    question_id: str | None
    agency: str
    case_type: str
    kind: Kind
    slot_start: datetime
    length_minutes: int
    room: str | None
    status: BookingStatus
    agency_status: str
    outcome: Outcome | None  # once recorded


class OfficeBookingLine(BookingLine):
    has_identity_number: bool
    phone_masked: str | None  # the last two digits


class OfficeBookingsPublic(BaseModel):
    office_id: str
    date: date
    bookings: list[OfficeBookingLine]


def in_years(on: date) -> date:
    if not EARLIEST <= on < LATEST:
        raise ValueError("must be a date in the years 2000-2099")
    return on


BookingDay = Annotated[date, AfterValidator(in_years)]
