"""Bookings' handlers (docs/bookings.md): book a slot, cancel, check in, the meeting's
outcome, the no-show, erasure, and the agency's callbacks (moved, cancelled, accepted).

A slot and a room are claimed by rows with unique keys written in the booking's own
transaction (adapters/booking_tables.py): when another booking (another replica) claimed
them first, the insert fails (``ClaimLost``), the transaction is rolled back and the
handler looks again, finding the slot taken (409) or another official's slot free."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from services.intake.adapters.booking_tables import BookingRow, Slot
from services.intake.domain.booking import (
    Booking,
    ClaimLost,
    NoRoomFree,
    NotBookable,
    NotSelfService,
    SlotTaken,
    new_code,
    normalise_code,
)
from services.intake.domain.booking_commands import (
    CancelBooking,
    CheckIn,
    MakeBooking,
    RecordOutcome,
)
from services.intake.domain.calendar import utc
from services.intake.domain.events import BookingMade, VisitRegistered
from services.intake.domain.model import Visit
from services.intake.handlers.calendar import load_rooms
from services.intake.handlers.queue import OfficeDay, ticket_label
from services.intake.handlers.visits import load_visit
from services.intake.unit_of_work import SqlIntakeUnitOfWork as IntakeUnitOfWork
from shared.catalog import Catalog
from shared.errors import NotFound
from shared.events import EventEnvelope, utc_now
from shared.handlers import retry_on_conflict
from shared.idempotency import Recorder, no_record
from shared.offices import GENERAL_QUEUE, queue_service
from shared.personal_data import normalise_pin
from shared.unit_of_work import new_id
from shared.vault import Vault

if TYPE_CHECKING:
    from services.intake.adapters.pseudonym import Pseudonymizer

CLAIM_ATTEMPTS = 8
BOOKED_QUEUE = "booked"


async def load_booking(uow: IntakeUnitOfWork, booking_id: str) -> Booking:
    envelopes = await uow.events.load(booking_id)
    booking = Booking.rehydrate(booking_id, [e.event() for e in envelopes])
    if not booking.exists or not booking.state.office_id:
        raise NotFound(f"no booking {booking_id}")
    return booking


def check_bookable(catalog: Catalog, cmd: MakeBooking) -> None:
    if not catalog.is_case_type(cmd.agency, cmd.case_type):
        raise NotBookable(f"{cmd.agency}/{cmd.case_type} is not a case type of the catalog")
    if cmd.channel == "kiosk" and not catalog.is_self_booking(cmd.agency, cmd.case_type):
        raise NotSelfService(f"{cmd.agency}/{cmd.case_type} is booked at a desk, not at the kiosk")


def mask_phone(phone: str | None) -> str | None:
    digits = [c for c in phone or "" if c.isdigit()]
    return None if not digits else "•" * max(len(digits) - 2, 0) + "".join(digits[-2:])


@dataclass(frozen=True)
class Booked:
    booking: Booking
    code: str


async def make_booking(
    cmd: MakeBooking, uow: IntakeUnitOfWork, catalog: Catalog, vault: Vault, day: OfficeDay,
    pseudonyms: Pseudonymizer | None = None, record: Recorder = no_record, now: datetime | None = None,
) -> Booked:
    """Book the first free slot matching the request (one official's, at this office),
    with a free video room for a video meeting. Personal data is sealed under the
    booking's own key first; a booking refused leaves no key behind."""
    check_bookable(catalog, cmd)
    office = day.office(cmd.office_id)
    booking_id = new_id()
    pin = normalise_pin(cmd.personal_identity_number) if cmd.personal_identity_number else None
    pseudonym = pseudonyms.of(pin) if pin is not None and pseudonyms is not None else None
    sealed = [await vault.encrypt(booking_id, v) if v else None for v in (pin, cmd.name, cmd.phone)]
    try:
        for _ in range(CLAIM_ATTEMPTS):
            try:
                return await _book(cmd, booking_id, sealed, pseudonym, office.video_meetings, uow, record, now)
            except ClaimLost:
                continue
        raise SlotTaken("the slot was booked by someone else", {"slot_start": cmd.slot_start.isoformat()})
    except BaseException:
        if any(sealed):
            await vault.erase(booking_id)
        raise


async def _book(
    cmd: MakeBooking, booking_id: str, sealed: list[str | None], pseudonym: str | None, video_office: bool,
    uow: IntakeUnitOfWork, record: Recorder, now: datetime | None,
) -> Booked:
    now = now or utc_now()
    start = utc(cmd.slot_start)
    async with uow:
        offered = [s for s in await uow.bookings.slots(start, start, cmd.agency, cmd.kind, free_only=False)
                   if s.offers(cmd.office_id, cmd.case_type)]
        if not offered or all(s.slot_start + timedelta(minutes=s.length_minutes) <= now for s in offered):
            raise NotBookable(
                "no published slot matches (office, agency, case type, kind, slot start)",
                {"office_id": cmd.office_id, "agency": cmd.agency, "case_type": cmd.case_type,
                 "kind": cmd.kind, "slot_start": start.isoformat()},
            )
        free = [s for s in await uow.bookings.slots(start, start, cmd.agency, cmd.kind)
                if s.offers(cmd.office_id, cmd.case_type)]
        if not free:
            raise SlotTaken("the slot is booked", {"slot_start": start.isoformat()})
        slot = free[0]
        code = await _new_code(uow, cmd.office_id)  # a query: before the claims are staged
        room = await _claim_room(uow, cmd.office_id, cmd.kind, slot, booking_id, video_office)
        uow.bookings.claim_slot(slot.slot_id, booking_id)
        pin, name, phone = sealed
        booking = Booking.make(BookingMade(
            booking_id=booking_id, office_id=cmd.office_id, agency=cmd.agency, case_type=cmd.case_type,
            kind=cmd.kind, slot_start=slot.slot_start, length_minutes=slot.length_minutes, room=room,
            channel="kiosk" if cmd.channel == "kiosk" else "desk", question_id=cmd.question_id,
            visit_id=cmd.visit_id, personal_identity_number=pin, contact_name=name, contact_phone=phone,
            booked_by=cmd.booked_by, booked_at=now, person_pseudonym=pseudonym,
        ))
        uow.bookings.add_booking(BookingRow(
            booking_id=booking_id, office_id=cmd.office_id, code=code, slot_id=slot.slot_id,
            slot_start=slot.slot_start, status="booked", phone_masked=mask_phone(cmd.phone),
            **row_columns(booking),
        ))
        await uow.bookings.flush()  # ClaimLost here: someone else holds the slot, room or code
        uow.save(booking)
        booked = Booked(booking, code)
        await record(uow, booked)
        await uow.commit()
    return booked


def row_columns(booking: Booking) -> dict[str, Any]:
    """The booking index's columns (migration 0008) as the booking's events give them."""
    s = booking.state
    return dict(
        visit_id=s.booked_for_visit, question_id=s.question_id, checked_in_visit_id=s.checked_in_visit,
        agency=s.agency, case_type=s.case_type, kind=s.kind, length_minutes=s.length_minutes, room=s.room,
        has_identity_number=s.has_identity_number, outcome=s.outcome,
    )


async def fill_booking_rows(uow_factory: Callable[[], IntakeUnitOfWork], batch: int = 500) -> int:
    """Rows written before migration 0008 get its columns from their bookings' events
    (once: a filled row has an agency). Run at intake's start; returns how many."""
    filled = 0
    while True:
        async with uow_factory() as uow:
            ids = await uow.bookings.unfilled(batch)
            for booking_id in ids:
                booking = Booking.rehydrate(booking_id, [e.event() for e in await uow.events.load(booking_id)])
                if not booking.exists:  # a row without events: nothing to say, never listed again
                    await uow.bookings.set_columns(booking_id, agency="")
                    continue
                phone = {} if booking.state.has_phone else {"phone_masked": None}
                await uow.bookings.set_columns(booking_id, **row_columns(booking), **phone)
            await uow.commit()
        filled += len(ids)
        if len(ids) < batch:
            return filled


async def _claim_room(
    uow: IntakeUnitOfWork, office_id: str, kind: str, slot: Slot, booking_id: str, video_office: bool
) -> str | None:
    if kind != "video":
        return None
    rooms = (await load_rooms(uow, office_id)).rooms(video_office)
    room = await uow.bookings.free_room(office_id, rooms, slot.slot_start, slot.length_minutes)
    if room is None:
        raise NoRoomFree(f"no video room of {office_id} is free then", {"rooms": rooms})
    uow.bookings.claim_room(office_id, room, slot.slot_start, slot.length_minutes, booking_id)
    return room


async def _new_code(uow: IntakeUnitOfWork, office_id: str) -> str:
    while await uow.bookings.code_taken(office_id, code := new_code()):
        continue
    return code


async def code_of(uow: IntakeUnitOfWork, booking_id: str) -> str:
    row = await uow.bookings.booking(booking_id)
    return row.code if row else ""


@retry_on_conflict
async def cancel_booking(
    cmd: CancelBooking, uow: IntakeUnitOfWork, record: Recorder = no_record, now: datetime | None = None,
) -> Booking:
    """Frees the slot and the room. Cancelling a cancelled booking changes nothing."""
    async with uow:
        booking = await load_booking(uow, cmd.booking_id)
        if await _cancel(uow, booking, cmd.cancelled_by, cmd.reason, now or utc_now()):
            uow.save(booking)
            await record(uow, booking)
            await uow.commit()
    return booking


async def _cancel(uow: IntakeUnitOfWork, booking: Booking, by: Any, reason: str | None, at: datetime) -> bool:
    if not booking.cancel(by, reason, at):
        return False
    await uow.bookings.release(booking.id)
    await uow.bookings.set_status(booking.id, "cancelled")
    return True


@dataclass(frozen=True)
class CheckedIn:
    booking: Booking
    visit: Visit


@retry_on_conflict
async def check_in(
    cmd: CheckIn, uow: IntakeUnitOfWork, day: OfficeDay, record: Recorder = no_record,
    now: datetime | None = None,
) -> CheckedIn:
    """The visitor's ticket in the office's ``booked`` queue (``general`` where the office
    has none), and ``BookingCheckedIn``, in one transaction; checking in again answers the
    same visit. The board calls it first from the booked time (domain/queue_board.py)."""
    office = day.office(cmd.office_id)
    await day.feed.catch_up()
    now = now or utc_now()
    async with uow:
        booking_id = await uow.bookings.booking_of_code(cmd.office_id, normalise_code(cmd.code))
        if booking_id is None:
            raise NotFound("no booking with this code at this office")
        booking = await load_booking(uow, booking_id)
        if booking.state.status in ("checked_in", "held") and booking.state.visit_id:
            return CheckedIn(booking, await load_visit(uow, booking.state.visit_id))
        queue = BOOKED_QUEUE if queue_service(office, BOOKED_QUEUE) else GENERAL_QUEUE
        service = queue_service(office, queue)
        assert service is not None
        service_day = day.service_day(now)
        visit_id = new_id()
        booking.check_in(visit_id, now)
        number = await uow.tickets.next_number(cmd.office_id, service_day, queue)
        visit = Visit.register(VisitRegistered(
            visit_id=visit_id, office_id=cmd.office_id, channel="kiosk", agency=booking.state.agency,
            ticket=ticket_label(service.letter, number), service_day=service_day, registered_at=now, queue=queue,
        ))
        uow.save(visit)  # before the check-in: the board meets the visit, then its booking
        uow.save(booking)
        await uow.bookings.set_columns(booking.id, status="checked_in", checked_in_visit_id=visit_id)
        result = CheckedIn(booking, visit)
        await record(uow, result)
        await uow.commit()
    await day.feed.catch_up()
    return result


@retry_on_conflict
async def record_outcome(cmd: RecordOutcome, uow: IntakeUnitOfWork, record: Recorder = no_record) -> Booking:
    async with uow:
        booking = await load_booking(uow, cmd.booking_id)
        booking.record_outcome(cmd.outcome, cmd.note, utc_now())
        await uow.bookings.set_columns(booking.id, status="held", outcome=cmd.outcome)
        uow.save(booking)
        await record(uow, booking)
        await uow.commit()
    return booking


@retry_on_conflict
async def mark_no_show(booking_id: str, uow: IntakeUnitOfWork, grace: timedelta, now: datetime) -> bool:
    """True when the booking became a no-show (nobody checked in by its time + grace);
    its slot and room are freed."""
    async with uow:
        booking = await load_booking(uow, booking_id)
        if not booking.is_no_show(now, grace):
            if not booking.is_open:  # the index lagged its stream: bring it in line, never list it again
                await uow.bookings.set_status(booking.id, booking.state.status)
                await uow.commit()
            return False
        booking.mark_no_show(now)
        await uow.bookings.release(booking.id)
        await uow.bookings.set_status(booking.id, "no_show")
        uow.save(booking)
        await uow.commit()
    return True


@retry_on_conflict
async def erase_personal_data(booking_id: str, actor: str, uow: IntakeUnitOfWork, vault: Vault) -> bool:
    """Destroy the booking's data key (its sealed identity number, name and phone are
    unreadable from now on) and record who did it; True if a key existed."""
    async with uow:
        booking = await load_booking(uow, booking_id)
        existed = await vault.erase(booking_id)
        booking.record_erasure(actor, utc_now())
        await uow.bookings.set_columns(booking_id, phone_masked=None, has_identity_number=False)
        uow.save(booking)
        await uow.commit()
    return existed


# -- the agency's callbacks (the gateway's AgencyMeetingUpdated) -------------------------
async def on_agency_meeting(event: Any, envelope: EventEnvelope, uow: IntakeUnitOfWork, day: OfficeDay) -> None:
    """accepted → agency_status; cancelled → ``BookingCancelled(cancelled_by=agency)``;
    moved → ``BookingMoved(moved_by=agency)`` with the claims moved (a video meeting moved
    to a time without a free room is cancelled instead, flagged ``moved``). Consumer
    handler: runs in the consumer's transaction (which commits it)."""
    row = await uow.bookings.booking(event.booking_id)
    if row is None:
        return
    booking = await load_booking(uow, event.booking_id)
    await uow.bookings.set_agency_status(booking.id, event.status)
    if not booking.is_open or event.status == "accepted":
        return
    if event.status == "cancelled":
        await _cancel(uow, booking, "agency", event.note, event.received_at)
    elif event.status == "moved" and event.slot_start is not None:
        await _move(uow, booking, utc(event.slot_start), event.received_at, day)
    uow.save(booking, envelope)


async def _move(uow: IntakeUnitOfWork, booking: Booking, start: datetime, at: datetime, day: OfficeDay) -> None:
    s = booking.state
    await uow.bookings.release(booking.id)  # the old slot is free to book again
    room = None
    if s.kind == "video":
        office = day.offices.get(s.office_id)
        rooms = (await load_rooms(uow, s.office_id)).rooms(bool(office and office.video_meetings))
        room = await uow.bookings.free_room(s.office_id, rooms, start, s.length_minutes)
        if room is None:
            await _cancel(uow, booking, "office", "moved by the agency to a time without a free video room", at)
            return
        uow.bookings.claim_room(s.office_id, room, start, s.length_minutes, booking.id)
    same = [x for x in await uow.bookings.slots(start, start, s.agency, s.kind) if x.offers(s.office_id, s.case_type)]
    if same:
        uow.bookings.claim_slot(same[0].slot_id, booking.id)
    booking.move(start, room, "agency", at)
    await uow.bookings.set_slot(booking.id, same[0].slot_id if same else "", start, room)
    await uow.bookings.set_status(booking.id, booking.state.status)
