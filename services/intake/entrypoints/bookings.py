"""The calendar's and the bookings' routes on intake's port (docs/bookings.md): free
slots, publishing slots, video rooms, booking, reading (one, or an office's day),
cancelling, check-in, the meeting's outcome and the erasure of a booking's personal data. Every POST takes an
``Idempotency-Key`` (shared/idempotency.py)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from services.intake import views
from services.intake.domain.booking import Booking
from services.intake.domain.booking_commands import (
    CancelBooking,
    CheckIn,
    DeclareRooms,
    MakeBooking,
    PublishSlots,
    RecordOutcome,
)
from services.intake.domain.events import SlotsPublished, VideoRoomsDeclared
from services.intake.entrypoints.booking_schemas import (
    BookingCancelledPublic,
    BookingCreate,
    BookingCreated,
    BookingDay,
    BookingPublic,
    BookingStatus,
    CheckedInPublic,
    CheckInCreate,
    ErasedPublic,
    Kind,
    MeetingTime,
    MovePublic,
    OfficeBookingLine,
    OfficeBookingsPublic,
    OutcomeCreate,
    OutcomePublic,
    RoomsPublic,
    RoomsPut,
    SlotPublic,
    SlotsCreate,
    SlotsCreated,
    SlotsPublic,
)
from services.intake.entrypoints.deps import DepsDep, OfficeDayDep, UowDep
from services.intake.entrypoints.office_day import OfficeId, known_office
from services.intake.handlers import bookings, calendar
from services.intake.handlers.bookings import Booked, CheckedIn
from shared.events import utc_now
from shared.idempotency import IdempotencyDep, IdempotentRoute
from shared.input_checks import free_text
from shared.security import Principal, check_own_agency, needs, require

router = APIRouter(tags=["bookings"], route_class=IdempotentRoute)
BookingId = Annotated[str, Path(max_length=36)]
Publisher = Annotated[Principal, Depends(require("slots:publish"))]
RoomWriter = Annotated[Principal, Depends(require("rooms:write"))]
Booker = Annotated[Principal, Depends(require("bookings:write"))]
Canceller = Annotated[Principal, Depends(require("bookings:cancel"))]
Eraser = Annotated[Principal, Depends(require("personal_data:erase"))]
DEFAULT_WINDOW = timedelta(days=14)
OFFICE_ROLES = ("supervisor", "admin")  # cancel on the office's behalf, not the visitor's


@router.get("/offices/{office_id}/slots", response_model=SlotsPublic, dependencies=needs("slots:read"))
async def free_slots(
    office_id: OfficeId, uow: UowDep, day: OfficeDayDep,
    agency: Annotated[str | None, Query(pattern=r"^[a-z_]{2,40}$")] = None,
    case_type: Annotated[str | None, Query(pattern=r"^[a-z_]{2,40}$")] = None,
    kind: Kind | None = None,
    start: Annotated[MeetingTime | None, Query(alias="from")] = None,
    end: Annotated[MeetingTime | None, Query(alias="to")] = None,
) -> SlotsPublic:
    """Free slots only (not booked; a video slot while a room of the office is free for
    its whole interval); ``from``/``to`` default to now … now + 14 days."""
    known_office(day, office_id)
    start = start or utc_now()
    slots = await views.free_slots(
        uow, day, office_id, start, end or start + DEFAULT_WINDOW, agency, case_type, kind
    )
    return SlotsPublic(slots=[
        SlotPublic(slot_id=s.slot_id, slot_start=s.slot_start, length_minutes=s.length_minutes, agency=s.agency,
                   case_types=s.case_types, kind=s.kind, office_id=office_id)
        for s in slots
    ])


@router.post("/offices/{office_id}/slots", status_code=201, response_model=SlotsCreated)
async def publish_slots(
    office_id: OfficeId, body: SlotsCreate, uow: UowDep, deps: DepsDep, caller: Publisher, once: IdempotencyDep
) -> SlotsCreated:
    """An office administrator publishes an agency's slots at this office (an agency's
    token: only its own agency's, ``source=agency``)."""
    known_office(deps.office_day, office_id)
    check_own_agency(caller, body.agency)

    def created(event: SlotsPublished) -> SlotsCreated:
        return SlotsCreated(publication_id=event.publication_id, slots=len(event.starts))

    cmd = PublishSlots(
        (office_id,), body.agency, tuple(body.case_types), body.kind, tuple(body.starts), body.length_minutes,
        caller.subject, "agency" if caller.role == "agency" else "office",
    )
    return created(await calendar.publish_slots(cmd, uow, deps.catalog, deps.office_day, once.recorder(created)))


@router.put("/offices/{office_id}/video-rooms", response_model=RoomsPublic)
async def declare_rooms(
    office_id: OfficeId, body: RoomsPut, uow: UowDep, day: OfficeDayDep, caller: RoomWriter
) -> RoomsPublic:
    known_office(day, office_id)
    event: VideoRoomsDeclared = await calendar.declare_rooms(
        DeclareRooms(office_id, tuple(body.rooms), caller.subject), uow, day
    )
    return RoomsPublic(office_id=office_id, rooms=event.rooms)


@router.post("/bookings", status_code=201, response_model=BookingCreated)
async def make_booking(
    body: BookingCreate, uow: UowDep, deps: DepsDep, caller: Booker, once: IdempotencyDep
) -> BookingCreated:
    """409 ``slot_taken`` / ``no_room_free``; 422 ``not_bookable``; a kiosk books only
    ``self_booking`` case types (403 ``not_self_service``)."""
    cmd = MakeBooking(
        body.office_id, body.agency, body.case_type, body.kind, body.slot_start,
        "kiosk" if caller.role == "kiosk" else "desk", caller.subject, body.question_id, body.visit_id,
        body.personal_identity_number, body.name, body.phone,
    )
    booked = await bookings.make_booking(
        cmd, uow, deps.catalog, deps.vault, deps.office_day, deps.pseudonyms, once.recorder(booking_created)
    )
    return booking_created(booked)


def booking_created(booked: Booked) -> BookingCreated:
    return BookingCreated(code=booked.code, **_fields(booked.booking))


def _fields(booking: Booking) -> dict:
    s = booking.state
    return dict(
        booking_id=booking.id, status=s.status, office_id=s.office_id, agency=s.agency, case_type=s.case_type,
        kind=s.kind, slot_start=s.slot_start, length_minutes=s.length_minutes, room=s.room,
    )


@router.post("/bookings/check-in", response_model=CheckedInPublic, dependencies=needs("bookings:check_in"))
async def check_in(body: CheckInCreate, uow: UowDep, day: OfficeDayDep, once: IdempotencyDep) -> CheckedInPublic:
    """Unknown code (or another office's) → 404; too early → 409 ``too_early``; a
    cancelled booking → 409; checked in already → the same visit."""
    result = await bookings.check_in(CheckIn(body.office_id, body.code), uow, day, once.recorder(checked_in))
    return checked_in(result)


def checked_in(result: CheckedIn) -> CheckedInPublic:
    s, v = result.booking.state, result.visit.state
    return CheckedInPublic(
        booking_id=result.booking.id, visit_id=result.visit.id, ticket=v.ticket, queue=v.queue,
        office_id=s.office_id, slot_start=s.slot_start, room=s.room,
    )


@router.get("/offices/{office_id}/bookings", response_model=OfficeBookingsPublic, dependencies=needs("bookings:read"))
async def office_bookings(
    office_id: OfficeId, uow: UowDep, day: OfficeDayDep,
    on: Annotated[BookingDay | None, Query(alias="date")] = None,
    status: BookingStatus | None = None,
) -> OfficeBookingsPublic:
    """The office's bookings of one day (its time zone; default today), by time, with
    whether an identity number was given and the masked phone, never them in clear."""
    known_office(day, office_id)
    on = on or utc_now().astimezone(day.tz).date()
    lines = await views.office_bookings(uow, day, office_id, on, status)
    return OfficeBookingsPublic(office_id=office_id, date=on, bookings=[OfficeBookingLine(**x) for x in lines])


@router.get("/bookings/{booking_id}", response_model=BookingPublic, dependencies=needs("bookings:read"))
async def get_booking(booking_id: BookingId, uow: UowDep) -> BookingPublic:
    """Never the identity number, name or phone in clear."""
    booking, row = await views.get_booking(booking_id, uow)
    s = booking.state
    return BookingPublic(
        **_fields(booking), code=row.code, agency_status=row.agency_status, channel=s.channel,
        question_id=s.question_id, visit_id=s.visit_id, booked_at=s.booked_at,
        moves=[MovePublic(from_start=m.from_start, slot_start=m.slot_start, room=m.room, moved_by=m.moved_by,
                          moved_at=m.moved_at) for m in s.moves],
        cancelled_by=s.cancelled_by, outcome=s.outcome, has_identity_number=s.has_identity_number,
        has_name=s.has_name, phone_masked=None if s.erased else row.phone_masked,
    )


@router.delete("/bookings/{booking_id}", response_model=BookingCancelledPublic)
async def cancel_booking(
    booking_id: BookingId, uow: UowDep, caller: Canceller,
    reason: Annotated[free_text(500) | None, Query()] = None,  # type: ignore[valid-type]
) -> BookingCancelledPublic:
    """Frees the slot and the room; again → the same answer; after check-in → 409."""
    by = "office" if caller.role in OFFICE_ROLES else "visitor"
    await bookings.cancel_booking(CancelBooking(booking_id, by, reason), uow)
    return BookingCancelledPublic(booking_id=booking_id, status="cancelled")


@router.post("/bookings/{booking_id}/outcome", response_model=OutcomePublic, dependencies=needs("bookings:write"))
async def record_outcome(booking_id: BookingId, body: OutcomeCreate, uow: UowDep, once: IdempotencyDep) -> OutcomePublic:
    def recorded(booking: Booking) -> OutcomePublic:
        return OutcomePublic(booking_id=booking.id, status=booking.state.status, outcome=body.outcome)

    cmd = RecordOutcome(booking_id, body.outcome, body.note)
    return recorded(await bookings.record_outcome(cmd, uow, once.recorder(recorded)))


@router.delete("/bookings/{booking_id}/personal-data", response_model=ErasedPublic)
async def erase_personal_data(booking_id: BookingId, uow: UowDep, deps: DepsDep, caller: Eraser) -> ErasedPublic:
    """Crypto-shredding: the booking's data key is destroyed (docs/security.md)."""
    erased = await bookings.erase_personal_data(booking_id, caller.subject, uow, deps.vault)
    return ErasedPublic(booking_id=booking_id, erased=erased)
