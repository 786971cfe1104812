"""Read-side views of intake: an office's live queue, shaped from the queue board, each
question's decision and delivery as the visit overview shows them, an office's free
slots, a booking, and the bookings of a visit or of an office's day (docs/bookings.md)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from services.intake.adapters.booking_tables import BookingRow, Slot
from services.intake.domain.booking import Booking
from services.intake.domain.calendar import utc
from services.intake.domain.overview import DecisionView, DeliveryView
from services.intake.domain.queue_board import QueueBoard
from services.intake.handlers.bookings import load_booking
from services.intake.handlers.calendar import load_rooms
from services.intake.handlers.queue import OfficeDay
from services.intake.unit_of_work import SqlIntakeUnitOfWork as IntakeUnitOfWork
from shared.errors import NotFound
from shared.offices import Office, queue_services


def _minutes(seconds: float) -> float:
    return round(max(seconds, 0.0) / 60, 1)


def office_queue(
    board: QueueBoard, office: Office, now: datetime, service_day: str, with_visit_ids: bool
) -> dict:
    """The office's queue as ``GET /v1/offices/{id}/queue`` and its stream serve it.
    Without ``with_visit_ids`` (the display role) nothing in it names a visit."""
    state = board.office(office.id)
    waiting = state.waiting_today(service_day)
    queues = []
    for service in queue_services(office):
        mine = [w for w in waiting if w.queue == service.queue]
        tickets = [
            {
                "ticket": w.ticket,
                "registered_at": w.arrived_at,
                "waiting_minutes": _minutes((now - w.arrived_at).total_seconds()),
                **({"visit_id": w.visit_id} if with_visit_ids else {}),
            }
            for w in mine
        ]
        estimate = board.estimate(office.id, service.queue, len(mine) + 1, now)
        queues.append({
            "queue": service.queue, "letter": service.letter, "name_sv": service.name_sv,
            "name_en": service.name_en, "agency": service.agency, "waiting": len(mine),
            "tickets": tickets,
            "longest_wait_minutes": max((t["waiting_minutes"] for t in tickets), default=0.0),
            "estimated_wait_minutes": None if estimate is None else round(estimate, 1),
            "desks_open": sum(d.serves(service.queue) for d in state.desks.values()),
        })
    serving_by_desk = {s.desk: s.ticket for s in state.serving.values()}
    return {
        "office_id": office.id,
        "service_day": service_day,
        "updated_at": now,
        "queues": queues,
        "recently_called": [
            {"ticket": c.ticket, "queue": c.queue, "desk": c.desk, "called_at": c.called_at, "recall": c.recall}
            for c in state.recent
        ],
        "desks": [
            {"desk": d.desk, "queues": list(d.queues), "serving": serving_by_desk.get(d.desk)}
            for d in sorted(state.desks.values(), key=lambda d: d.desk)
        ],
    }


def decision_public(view: DecisionView | None) -> dict[str, Any] | None:
    if view is None or not view.classified:
        return None
    return {
        "level": view.level,
        "agency": view.agency,
        "case_type": view.case_type,
        "confidence": view.confidence,
        "explanation": view.explanation,
        "destination": view.destination,
        "destination_reason": view.destination_reason,
        "needs_review": view.needs_review,
        "overridden": view.overridden,
    }


def delivery_public(decision: DecisionView | None, view: DeliveryView | None) -> dict[str, Any] | None:
    """The gateway's delivery; a case routed but not yet queued there is ``pending``."""
    if view is None or not view.agency:
        if decision is None or decision.routed_agency is None:
            return None
        view = DeliveryView(decision.question_id, decision.visit_id, agency=decision.routed_agency)
    status = (
        {"status": view.agency_status, "note": view.agency_note, "updated_at": view.agency_status_at}
        if view.agency_status
        else None
    )
    return {
        "status": view.status,
        "attempts": view.attempts,
        "agency": view.agency,
        "agency_reference": view.agency_reference,
        "agency_status": status,
    }


async def free_slots(
    uow: IntakeUnitOfWork, day: OfficeDay, office_id: str, start: datetime, end: datetime,
    agency: str | None = None, case_type: str | None = None, kind: str | None = None,
) -> list[Slot]:
    """The office's slots nobody booked; a video slot only while one of the office's
    rooms is free for its whole interval."""
    office = day.office(office_id)
    async with uow:
        slots = [s for s in await uow.bookings.slots(start, end, agency, kind) if s.offers(office_id, case_type)]
        if not any(s.kind == "video" for s in slots):
            return slots
        rooms = (await load_rooms(uow, office_id)).rooms(office.video_meetings)
        free = []
        for slot in slots:
            if slot.kind != "video" or await uow.bookings.free_room(office_id, rooms, slot.slot_start, slot.length_minutes):
                free.append(slot)
        return free


async def get_booking(booking_id: str, uow: IntakeUnitOfWork) -> tuple[Booking, BookingRow]:
    async with uow:
        booking = await load_booking(uow, booking_id)
        row = await uow.bookings.booking(booking_id)
        if row is None:
            raise NotFound(f"no booking {booking_id}")
        return booking, row


def booking_line(row: BookingRow, contact: bool = False) -> dict[str, Any]:
    """A booking as the visit overview and the office's day list show it: no personal
    data; ``contact`` adds whether an identity number was given and the masked phone."""
    line = {
        "booking_id": row.booking_id, "code": row.code, "question_id": row.question_id, "agency": row.agency,
        "case_type": row.case_type, "kind": row.kind, "slot_start": utc(row.slot_start),
        "length_minutes": row.length_minutes, "room": row.room, "status": row.status,
        "agency_status": row.agency_status, "outcome": row.outcome,
    }
    if contact:
        line.update(has_identity_number=bool(row.has_identity_number), phone_masked=row.phone_masked)
    return line


def _filled(rows: list[BookingRow]) -> list[BookingRow]:
    return [r for r in rows if r.agency]  # a row from before 0008 is filled at intake's start


async def visit_bookings(uow: IntakeUnitOfWork, visit_id: str) -> list[dict[str, Any]]:
    """The bookings made for the visit (its questions') or whose check-in made it."""
    return [booking_line(r) for r in _filled(await uow.bookings.of_visit(visit_id))]


def local_day(day: OfficeDay, on: date) -> tuple[datetime, datetime]:
    """The office's day ``on`` (its time zone, a DST day is 23 or 25 hours) in UTC."""
    start = datetime.combine(on, time(), day.tz)
    end = datetime.combine(on + timedelta(days=1), time(), day.tz)
    return start, end


async def office_bookings(
    uow: IntakeUnitOfWork, day: OfficeDay, office_id: str, on: date, status: str | None
) -> list[dict[str, Any]]:
    start, end = local_day(day, on)
    async with uow:
        rows = await uow.bookings.of_office(office_id, start, end, status)
    return [booking_line(r, contact=True) for r in _filled(rows)]
