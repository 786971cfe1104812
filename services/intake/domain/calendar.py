"""The calendar: an agency's published slots and an office's video rooms (pure).

A slot is one official's time: one start of one publication, offered at one or more
offices. Its id is derived from the publication and the start, so the same publication
received twice names the same slots. A video meeting also holds a room of the office for
its whole interval: the interval is cut into ``BLOCK``-minute blocks, and each block of a
room is held by at most one meeting (the database's unique key enforces it,
docs/bookings.md)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from services.intake.domain.events import SlotsPublished, VideoRoomsDeclared
from shared.aggregate import Aggregate
from shared.events import DomainEvent

BLOCK = timedelta(minutes=5)
DEFAULT_ROOM = "video-1"  # what an office with video meetings starts with
_SLOT_NAMESPACE = uuid.UUID("6f1c2a4e-7b0d-4c1e-9a55-16b00c1d0016")


def slot_id(publication_id: str, start: datetime) -> str:
    return str(uuid.uuid5(_SLOT_NAMESPACE, f"{publication_id}|{utc(start).isoformat()}"))


def utc(at: datetime) -> datetime:
    """Aware and in UTC (naive times are taken as UTC, as SQLite hands them back)."""
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def room_blocks(start: datetime, length_minutes: int) -> list[datetime]:
    """The blocks a meeting of ``length_minutes`` from ``start`` covers: every block it
    overlaps, so two meetings that overlap by a minute share a block."""
    start = utc(start)
    end = start + timedelta(minutes=length_minutes)
    first = start - timedelta(minutes=start.minute % 5, seconds=start.second, microseconds=start.microsecond)
    blocks, at = [], first
    while at < end:
        blocks.append(at)
        at += BLOCK
    return blocks


class SlotCalendar(Aggregate):
    """The publications of one agency (stream ``slots:<agency>``)."""

    @staticmethod
    def stream_id(agency: str) -> str:
        return f"slots:{agency}"

    def init_state(self) -> None:
        self.publications: set[str] = set()

    def apply(self, event: DomainEvent) -> None:
        if isinstance(event, SlotsPublished):
            self.publications.add(event.publication_id)

    def publish(self, event: SlotsPublished) -> bool:
        """False (and nothing recorded) for a publication already received."""
        if event.publication_id in self.publications:
            return False
        self.trigger(event)
        return True


class VideoRooms(Aggregate):
    """An office's video rooms (stream ``rooms:<office_id>``); before any declaration,
    ``DEFAULT_ROOM`` where the office registry says the office has video meetings."""

    @staticmethod
    def stream_id(office_id: str) -> str:
        return f"rooms:{office_id}"

    def init_state(self) -> None:
        self.declared: list[str] | None = None

    def apply(self, event: DomainEvent) -> None:
        if isinstance(event, VideoRoomsDeclared):
            self.declared = list(event.rooms)

    def rooms(self, video_meetings: bool) -> list[str]:
        if self.declared is not None:
            return self.declared
        return [DEFAULT_ROOM] if video_meetings else []

    def declare(self, event: VideoRoomsDeclared) -> None:
        self.trigger(event)


def unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))
