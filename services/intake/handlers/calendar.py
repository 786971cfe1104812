"""The calendar's handlers: slots published (by an office's administrator, or by an
agency through the gateway) and video rooms declared. The free slots are a read
(``views.free_slots``)."""

from __future__ import annotations

from typing import Any

from services.intake.domain.booking_commands import DeclareRooms, PublishSlots
from services.intake.domain.calendar import SlotCalendar, VideoRooms, unique, utc
from services.intake.domain.events import SlotsPublished, VideoRoomsDeclared
from services.intake.handlers.queue import OfficeDay
from services.intake.unit_of_work import SqlIntakeUnitOfWork as IntakeUnitOfWork
from shared.catalog import Catalog
from shared.errors import InvalidInput
from shared.events import EventEnvelope, utc_now
from shared.handlers import retry_on_conflict
from shared.idempotency import Recorder, no_record
from shared.unit_of_work import new_id


def check_offer(catalog: Catalog, day: OfficeDay, cmd: PublishSlots) -> None:
    if not catalog.is_agency(cmd.agency):
        raise InvalidInput(f"unknown agency code {cmd.agency!r}")
    if unknown := [c for c in cmd.case_types if not catalog.is_case_type(cmd.agency, c)]:
        raise InvalidInput(f"{cmd.agency} has no case type {', '.join(map(repr, unknown))}")
    for office_id in cmd.office_ids:
        day.office(office_id)


@retry_on_conflict
async def publish_slots(
    cmd: PublishSlots, uow: IntakeUnitOfWork, catalog: Catalog, day: OfficeDay,
    record: Recorder = no_record, cause: EventEnvelope | None = None,
) -> SlotsPublished:
    """Record the publication and its slots; a publication id received before records
    nothing again (an agency's retry)."""
    check_offer(catalog, day, cmd)
    event = SlotsPublished(
        publication_id=cmd.publication_id or new_id(), agency=cmd.agency, case_types=unique(cmd.case_types),
        kind=cmd.kind, office_ids=unique(cmd.office_ids), starts=sorted({utc(s) for s in cmd.starts}),
        length_minutes=cmd.length_minutes, source=cmd.source, published_by=cmd.published_by,
        published_at=utc_now(),
    )
    async with uow:
        await _publish(uow, event, cause)
        await record(uow, event)
        await uow.commit()
    return event


async def _publish(uow: IntakeUnitOfWork, event: SlotsPublished, cause: EventEnvelope | None) -> None:
    stream = SlotCalendar.stream_id(event.agency)
    calendar = SlotCalendar.rehydrate(stream, [e.event() for e in await uow.events.load(stream)])
    if calendar.publish(event):
        await uow.bookings.add_slots(event)
        uow.save(calendar, cause)


async def on_agency_slots(event: Any, envelope: EventEnvelope, uow: IntakeUnitOfWork, catalog: Catalog,
                          day: OfficeDay) -> None:
    """Consumer handler of the gateway's ``AgencySlotsPublished``: the same slots,
    ``source=agency``, in the consumer's transaction. Offices or case types this intake
    does not know are left out (the gateway checked the signature, not our registry)."""
    offices = [o for o in event.office_ids if day.offices.get(o) is not None]
    case_types = [c for c in event.case_types if catalog.is_case_type(event.agency, c)]
    if not offices or not case_types or not catalog.is_agency(event.agency):
        return
    await _publish(uow, SlotsPublished(
        publication_id=event.publication_id, agency=event.agency, case_types=case_types, kind=event.kind,
        office_ids=offices, starts=sorted({utc(s) for s in event.starts}), length_minutes=event.length_minutes,
        source="agency", published_by=event.agency, published_at=event.received_at,
    ), envelope)


async def load_rooms(uow: IntakeUnitOfWork, office_id: str) -> VideoRooms:
    stream = VideoRooms.stream_id(office_id)
    return VideoRooms.rehydrate(stream, [e.event() for e in await uow.events.load(stream)])


@retry_on_conflict
async def declare_rooms(
    cmd: DeclareRooms, uow: IntakeUnitOfWork, day: OfficeDay, record: Recorder = no_record
) -> VideoRoomsDeclared:
    """The office's video rooms from now on. Meetings already booked keep their room."""
    day.office(cmd.office_id)
    event = VideoRoomsDeclared(
        office_id=cmd.office_id, rooms=unique(cmd.rooms), declared_by=cmd.declared_by, declared_at=utc_now()
    )
    async with uow:
        rooms = await load_rooms(uow, cmd.office_id)
        rooms.declare(event)
        uow.save(rooms)
        await record(uow, event)
        await uow.commit()
    return event
