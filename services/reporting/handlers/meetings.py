"""The live path of the meetings' facts, through the fold the replay uses too: the
booking's record (or the office's rooms) is loaded, the event folded in, and saved."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from services.reporting.domain.meeting_rules import MEETING_APPLIERS, MeetingRecords
from services.reporting.unit_of_work import SqlReportingUnitOfWork as ReportingUnitOfWork
from shared.events import DomainEvent, EventEnvelope


async def apply_meeting_event(
    event: DomainEvent, envelope: EventEnvelope, uow: ReportingUnitOfWork, tz: ZoneInfo
) -> None:
    payload, records = event.model_dump(mode="json"), MeetingRecords(tz)
    if "booking_id" not in payload:  # the office's video rooms
        found = await uow.meetings.get_rooms(payload["office_id"])
        if found is not None:
            records.rooms[found.office_id] = found
        MEETING_APPLIERS[envelope.event_type](payload, records)
        await uow.meetings.save_rooms(records.rooms[payload["office_id"]])
        return
    found_meeting = await uow.meetings.get_meeting(payload["booking_id"])
    if found_meeting is not None:
        records.meetings[found_meeting.booking_id] = found_meeting
    MEETING_APPLIERS[envelope.event_type](payload, records)
    await uow.meetings.save_meeting(records.meeting(payload["booking_id"]))
