"""The meetings' facts, write side: a port, its SQL adapter and an in-memory fake."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from typing import Protocol

from sqlalchemy import delete, insert, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.reporting.adapters.meeting_tables import ReportingMeeting, ReportingVideoRooms
from services.reporting.domain.meeting_rules import MeetingRecord, VideoRooms
from services.reporting.domain.model import as_utc

MEETINGS, ROOMS = ReportingMeeting.__table__, ReportingVideoRooms.__table__
_MEETING_COLUMNS = [f.name for f in fields(MeetingRecord)]


class MeetingRepository(Protocol):
    async def get_meeting(self, booking_id: str) -> MeetingRecord | None: ...

    async def save_meeting(self, meeting: MeetingRecord) -> None: ...

    async def get_rooms(self, office_id: str) -> VideoRooms | None: ...

    async def save_rooms(self, rooms: VideoRooms) -> None: ...


class SqlMeetings:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get_meeting(self, booking_id: str) -> MeetingRecord | None:
        columns = [MEETINGS.c[name] for name in _MEETING_COLUMNS]
        row = (await self.session.exec(select(*columns).where(MEETINGS.c.booking_id == booking_id))).first()
        return None if row is None else MeetingRecord(*row)

    async def save_meeting(self, meeting: MeetingRecord) -> None:
        await self.session.exec(delete(MEETINGS).where(MEETINGS.c.booking_id == meeting.booking_id))
        await self.session.exec(insert(MEETINGS).values(**asdict(meeting)))

    async def get_rooms(self, office_id: str) -> VideoRooms | None:
        statement = select(ROOMS.c.office_id, ROOMS.c.rooms, ROOMS.c.room_count, ROOMS.c.declared_at)
        row = (await self.session.exec(statement.where(ROOMS.c.office_id == office_id))).first()
        return None if row is None else VideoRooms(row[0], row[1], row[2], as_utc(row[3]))  # type: ignore[arg-type]

    async def save_rooms(self, rooms: VideoRooms) -> None:
        await self.session.exec(delete(ROOMS).where(ROOMS.c.office_id == rooms.office_id))
        await self.session.exec(insert(ROOMS).values(**asdict(rooms)))


@dataclass
class InMemoryMeetingStore:
    meetings: dict[str, MeetingRecord] = field(default_factory=dict)
    rooms: dict[str, VideoRooms] = field(default_factory=dict)


class InMemoryMeetings:
    """Writes to a staged copy; ``flush`` commits, ``discard`` drops."""

    def __init__(self, store: InMemoryMeetingStore) -> None:
        self.store = store
        self.discard()

    async def get_meeting(self, booking_id: str) -> MeetingRecord | None:
        found = self.staged.meetings.get(booking_id)
        return None if found is None else replace(found)

    async def save_meeting(self, meeting: MeetingRecord) -> None:
        self.staged.meetings[meeting.booking_id] = replace(meeting)

    async def get_rooms(self, office_id: str) -> VideoRooms | None:
        return self.staged.rooms.get(office_id)

    async def save_rooms(self, rooms: VideoRooms) -> None:
        self.staged.rooms[rooms.office_id] = rooms

    def flush(self) -> None:
        self.store.meetings, self.store.rooms = self.staged.meetings, self.staged.rooms
        self.discard()

    def discard(self) -> None:
        self.staged = InMemoryMeetingStore(dict(self.store.meetings), dict(self.store.rooms))
