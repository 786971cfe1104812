"""Bookings to the agencies (issue 16, docs/bookings.md): intake's booking events become
deliveries of the same table, worker, retries, breaker and dead letters as cases; the
agencies' meeting callbacks and slot publications become the gateway's events.

A booking's deliveries: the meeting (delivery id = Idempotency-Key = booking id), then
each move by the office and the cancellation (not by the agency: it knows), each with a
name-based id of its own, so a re-sent event never makes a second delivery.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime
from typing import Any

import structlog

from services.agency_gateway.adapters.tables import DeliveryRow
from services.agency_gateway.domain.commands import PublishAgencySlots, RecordMeetingUpdate
from services.agency_gateway.domain.events import (
    AgencyMeetingUpdated,
    AgencySlotsPublished,
    MeetingDeliveryKind,
    MeetingQueuedForDelivery,
)
from services.agency_gateway.domain.model import Delivery, SlotPublication
from services.agency_gateway.handlers.callbacks import apply_callback, scrubbed
from services.agency_gateway.handlers.delivery import trace_json
from services.agency_gateway.unit_of_work import GatewayUnitOfWork
from shared.contracts.intake import BookingCancelled, BookingMade, BookingMoved
from shared.events import EventEnvelope, utc_now
from shared.handlers import retry_on_conflict

log = structlog.get_logger(__name__)
_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "servicekontor:agency_gateway:meetings")


def delivery_id(booking_id: str, change: str) -> str:
    """The id (and Idempotency-Key) of a move or cancellation of one booking."""
    return str(uuid.uuid5(_NAMESPACE, f"{booking_id}:{change}"))


def meeting_of(event: BookingMade) -> dict[str, Any]:
    """The meeting's body before minimisation; identity number, name and phone sealed."""
    return {
        "meeting_id": event.booking_id,
        "agency": event.agency,
        "case_type": event.case_type,
        "kind": event.kind,
        "office_id": event.office_id,
        "slot_start": event.slot_start.isoformat(),
        "length_minutes": event.length_minutes,
        "room": event.room,
        "question_id": event.question_id,
        "personal_identity_number": event.personal_identity_number,
        "contact_name": event.contact_name,
        "contact_phone": event.contact_phone,
    }


async def queue_meeting(
    event: BookingMade, envelope: EventEnvelope, uow: GatewayUnitOfWork, wake: Callable[[], None] | None = None
) -> None:
    meeting = _Booking(event.booking_id, event.office_id, event.agency, event.case_type, event.visit_id)
    await _queue(uow, envelope, meeting, event.booking_id, "meeting", meeting_of(event), wake)


async def queue_move(
    event: BookingMoved, envelope: EventEnvelope, uow: GatewayUnitOfWork, wake: Callable[[], None] | None = None
) -> None:
    """A move by the office or the visitor; the agency's own moves come from it."""
    if event.moved_by == "agency" or (meeting := await _meeting(uow, event.booking_id)) is None:
        return
    body = {
        "meeting_id": event.booking_id,
        "agency": meeting.agency,
        "slot_start": event.slot_start.isoformat(),
        "from_start": event.from_start.isoformat(),
        "room": event.room,
        "moved_at": event.moved_at.isoformat(),
    }
    change = f"move:{event.moved_at.isoformat()}:{event.slot_start.isoformat()}"
    await _queue(uow, envelope, meeting, delivery_id(event.booking_id, change), "meeting_move", body, wake)


async def queue_cancellation(
    event: BookingCancelled, envelope: EventEnvelope, uow: GatewayUnitOfWork, wake: Callable[[], None] | None = None
) -> None:
    if event.cancelled_by == "agency" or (meeting := await _meeting(uow, event.booking_id)) is None:
        return
    body = {"meeting_id": event.booking_id, "agency": meeting.agency, "cancelled_at": event.cancelled_at.isoformat()}
    ident = delivery_id(event.booking_id, "cancellation")
    await _queue(uow, envelope, meeting, ident, "meeting_cancellation", body, wake)


class _Booking:
    def __init__(self, booking_id: str, office_id: str, agency: str, case_type: str, visit_id: str | None) -> None:
        self.booking_id, self.office_id, self.agency = booking_id, office_id, agency
        self.case_type, self.visit_id = case_type, visit_id


async def _meeting(uow: GatewayUnitOfWork, booking_id: str) -> _Booking | None:
    """The booking's meeting delivery (it names the agency): a change of a booking the
    gateway never queued (made before it consumed bookings) is not sent."""
    row = await uow.deliveries.get(booking_id)
    if row is None or (row.kind or "case") != "meeting":
        log.info("meeting_change_without_meeting", booking_id=booking_id)
        return None
    return _Booking(booking_id, row.office_id, row.agency, row.case_type, row.visit_id)


async def _queue(
    uow: GatewayUnitOfWork,
    envelope: EventEnvelope,
    booking: _Booking,
    ident: str,
    kind: MeetingDeliveryKind,
    body: dict[str, Any],
    wake: Callable[[], None] | None,
) -> None:
    """As ``queue_case``: the row and ``MeetingQueuedForDelivery`` in the consumer's unit
    of work; a delivery already queued is left alone."""
    if await uow.deliveries.get(ident) is not None:
        log.info("meeting_already_queued", delivery_id=ident, kind=kind)
        return
    now = utc_now()
    queued = MeetingQueuedForDelivery(
        delivery_id=ident, booking_id=booking.booking_id, kind=kind, office_id=booking.office_id,
        agency=booking.agency, case_type=booking.case_type, queued_at=now,
    )
    uow.deliveries.add(
        DeliveryRow(
            question_id=ident, visit_id=booking.visit_id or "", office_id=booking.office_id,
            agency=booking.agency, case_type=booking.case_type, kind=kind, queued_at=now,
            next_attempt_at=now, case_payload=json.dumps(body, ensure_ascii=False), trace=trace_json(envelope),
        )
    )
    uow.save(Delivery.queue(queued), cause=envelope)
    if wake is not None:
        uow.after_commit(wake)


@retry_on_conflict
async def record_meeting_update(
    command: RecordMeetingUpdate, uow: GatewayUnitOfWork, now: datetime | None = None
) -> bool:
    """``AgencyMeetingUpdated`` on the meeting's delivery stream, at most once per
    callback id; False for a replay. Another agency's meeting is an unknown one."""

    def update(delivery: Delivery, received: datetime) -> None:
        fields = asdict(command)
        fields.update(
            agency_reference=fields.pop("reference"),
            agency_updated_at=fields.pop("occurred_at"),
            note=scrubbed(command.note),
            received_at=received,
        )
        delivery.meeting_update(AgencyMeetingUpdated(**fields))

    applied = await apply_callback(uow, command.agency, command.callback_id, command.booking_id, update, now)
    if applied:
        log.info("agency_meeting_updated", booking_id=command.booking_id, agency=command.agency, status=command.status)
    return applied


@retry_on_conflict
async def publish_slots(command: PublishAgencySlots, uow: GatewayUnitOfWork, now: datetime | None = None) -> bool:
    """``AgencySlotsPublished`` in the publication's own stream; False when this
    publication id was recorded before (a repeat changes nothing)."""
    async with uow:
        stream = f"slots:{command.agency}:{command.publication_id}"
        if await uow.events.load(stream):
            return False
        publication = SlotPublication(stream)
        publication.trigger(
            AgencySlotsPublished(
                publication_id=command.publication_id,
                agency=command.agency,
                case_types=list(command.case_types),
                kind=command.kind,
                office_ids=list(command.office_ids),
                starts=list(command.starts),
                length_minutes=command.length_minutes,
                received_at=now or utc_now(),
            )
        )
        uow.save(publication)
        await uow.commit()
    log.info("agency_slots_published", agency=command.agency, slots=len(command.starts) * len(command.office_ids))
    return True
