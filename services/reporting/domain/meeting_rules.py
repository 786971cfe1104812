"""The meetings' facts, folded from intake's booking events (pure, like ``fold``): one
record per booking and the video rooms each office declared.

A booking's record keeps only what the figures need: office, agency, case type, kind,
channel, room, times and how it ended. The identity number, name, phone and the free-text
reason and note are never copied (they stay sealed in intake's events).

Every rule is idempotent and order-free: a move arriving before its booking, or a repeated
event, gives the same record. The latest move sets the time and room; the earliest
cancellation, check-in and no-show count; the latest outcome corrects an earlier one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from services.reporting.domain.fact_rules import Payload, day_of, ts
from services.reporting.domain.model import as_utc, earliest

STATUSES = ("booked", "held", "no_show", "cancelled", "not_held")


@dataclass(slots=True)
class MeetingRecord:
    """One booking as reporting keeps it (the columns of ``reporting_meetings``, in order)."""

    booking_id: str
    office_id: str | None = None
    agency: str | None = None
    case_type: str | None = None
    kind: str | None = None
    channel: str | None = None
    room: str | None = None
    slot_start: datetime | None = None
    length_minutes: int | None = None
    service_day: str | None = None  # the local day of the meeting
    booked_at: datetime | None = None
    lead_minutes: float | None = None  # booking → meeting
    first_start: datetime | None = None  # the time first booked
    moved_at: datetime | None = None
    moved_by: str | None = None
    cancelled_at: datetime | None = None
    cancelled_by: str | None = None
    checked_in_at: datetime | None = None
    no_show_at: datetime | None = None
    outcome: str | None = None
    outcome_at: datetime | None = None
    status: str = "booked"

    def settle(self, tz: ZoneInfo) -> None:
        """The derived columns: day, lead time and status, from the facts held."""
        for name in ("slot_start", "booked_at", "first_start", "moved_at", "cancelled_at",
                     "checked_in_at", "no_show_at", "outcome_at"):
            setattr(self, name, as_utc(getattr(self, name)))
        if self.slot_start is not None:
            self.service_day = day_of(self.slot_start, tz)
            if self.booked_at is not None:
                self.lead_minutes = round((self.slot_start - self.booked_at).total_seconds() / 60, 1)
        self.status = status_of(self)


def status_of(r: MeetingRecord) -> str:
    """cancelled (before any check-in), not_held (an outcome other than held: the agency's
    official absent, a technical failure, the visitor left), held (checked in or reported
    held), no_show (not checked in within the grace period), else booked (still to come)."""
    if r.cancelled_at is not None and r.checked_in_at is None:
        return "cancelled"
    if r.outcome is not None and r.outcome != "held":
        return "not_held"
    if r.checked_in_at is not None or r.outcome == "held":
        return "held"
    if r.no_show_at is not None:
        return "no_show"
    return "booked"


@dataclass(slots=True)
class VideoRooms:
    office_id: str
    rooms: str  # comma-separated room names, in the declared order
    room_count: int
    declared_at: datetime


@dataclass
class MeetingRecords:
    tz: ZoneInfo
    meetings: dict[str, MeetingRecord] = field(default_factory=dict)
    rooms: dict[str, VideoRooms] = field(default_factory=dict)  # office -> latest declaration

    def meeting(self, booking_id: str) -> MeetingRecord:
        found = self.meetings.get(booking_id)
        if found is None:
            found = self.meetings[booking_id] = MeetingRecord(booking_id)
        return found


def booking_made(p: Payload, r: MeetingRecords) -> None:
    m = r.meeting(p["booking_id"])
    m.office_id, m.agency, m.case_type, m.kind = p["office_id"], p["agency"], p["case_type"], p["kind"]
    m.channel, m.length_minutes, m.booked_at = p["channel"], int(p["length_minutes"]), ts(p["booked_at"])
    m.first_start = ts(p["slot_start"])
    if m.moved_at is None:  # a move seen first keeps its time and room
        m.slot_start, m.room = m.first_start, p.get("room")
    m.settle(r.tz)


def booking_moved(p: Payload, r: MeetingRecords) -> None:
    m, at = r.meeting(p["booking_id"]), ts(p["moved_at"])
    m.office_id = m.office_id or p["office_id"]
    if m.moved_at is None or at >= as_utc(m.moved_at):  # type: ignore[operator]
        m.moved_at, m.moved_by = at, p["moved_by"]
        m.slot_start, m.room = ts(p["slot_start"]), p.get("room")
    m.settle(r.tz)


def booking_cancelled(p: Payload, r: MeetingRecords) -> None:
    m, at = r.meeting(p["booking_id"]), ts(p["cancelled_at"])
    m.office_id = m.office_id or p["office_id"]
    if m.cancelled_at is None or at < as_utc(m.cancelled_at):  # type: ignore[operator]
        m.cancelled_at, m.cancelled_by = at, p["cancelled_by"]
    m.settle(r.tz)


def _earliest(time_field: str, column: str) -> Callable[[Payload, MeetingRecords], None]:
    def apply(p: Payload, r: MeetingRecords) -> None:
        m = r.meeting(p["booking_id"])
        m.office_id = m.office_id or p["office_id"]
        setattr(m, column, earliest(getattr(m, column), ts(p[time_field])))
        m.settle(r.tz)

    apply.__name__ = f"booking_{column}"
    return apply


def outcome_recorded(p: Payload, r: MeetingRecords) -> None:
    m, at = r.meeting(p["booking_id"]), ts(p["recorded_at"])
    m.office_id = m.office_id or p["office_id"]
    if m.outcome_at is None or at >= as_utc(m.outcome_at):  # type: ignore[operator]
        m.outcome, m.outcome_at = p["outcome"], at
    m.settle(r.tz)


def rooms_declared(p: Payload, r: MeetingRecords) -> None:
    at, found = ts(p["declared_at"]), r.rooms.get(p["office_id"])
    if found is None or at >= as_utc(found.declared_at):  # type: ignore[operator]
        rooms = list(p["rooms"])
        r.rooms[p["office_id"]] = VideoRooms(p["office_id"], ",".join(rooms), len(rooms), at)


MEETING_APPLIERS: dict[str, Callable[[Payload, MeetingRecords], None]] = {
    "intake.BookingMade": booking_made,
    "intake.BookingMoved": booking_moved,
    "intake.BookingCancelled": booking_cancelled,
    "intake.BookingCheckedIn": _earliest("checked_in_at", "checked_in_at"),
    "intake.BookingNoShow": _earliest("marked_at", "no_show_at"),
    "intake.MeetingOutcomeRecorded": outcome_recorded,
    "intake.VideoRoomsDeclared": rooms_declared,
}
