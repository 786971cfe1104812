"""The meetings' facts, write side in the fake unit of work (the SQL side is
``adapters.projection``, a batch at a time)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Protocol

from services.reporting.domain.meeting_rules import MeetingRecord, VideoRooms


class MeetingRepository(Protocol):
    async def get_meeting(self, booking_id: str) -> MeetingRecord | None: ...

    async def save_meeting(self, meeting: MeetingRecord) -> None: ...

    async def get_rooms(self, office_id: str) -> VideoRooms | None: ...

    async def save_rooms(self, rooms: VideoRooms) -> None: ...


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
