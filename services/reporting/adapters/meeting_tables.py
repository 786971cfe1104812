"""The meetings' fact tables (data dictionary: docs/reporting.md, "Meetings").

One row per booking and one per office that declared video rooms. No identity number,
name, phone, reason or note: intake's booking events carry them sealed, and reporting
never copies them. Columns follow ``domain.meeting_rules`` (bulk writes rely on it).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, DateTime
from sqlmodel import Field, SQLModel


def _moment() -> datetime | None:
    return Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))


class ReportingMeeting(SQLModel, table=True):
    """Fact: one booked meeting with an agency's official, as it stands now. ``status``:
    booked (still to come), held, no_show, cancelled, not_held (an outcome other than held)."""

    __tablename__ = "reporting_meetings"

    booking_id: str = Field(primary_key=True, max_length=36)
    office_id: str | None = Field(default=None, index=True, max_length=60)
    agency: str | None = Field(default=None, max_length=40)
    case_type: str | None = Field(default=None, max_length=40)
    kind: str | None = Field(default=None, max_length=10)
    channel: str | None = Field(default=None, max_length=10)
    room: str | None = Field(default=None, max_length=60)
    slot_start: datetime | None = _moment()
    length_minutes: int | None = None
    service_day: str | None = Field(default=None, index=True, max_length=10)
    booked_at: datetime | None = _moment()
    lead_minutes: float | None = None
    first_start: datetime | None = _moment()
    moved_at: datetime | None = _moment()
    moved_by: str | None = Field(default=None, max_length=10)
    cancelled_at: datetime | None = _moment()
    cancelled_by: str | None = Field(default=None, max_length=10)
    checked_in_at: datetime | None = _moment()
    no_show_at: datetime | None = _moment()
    outcome: str | None = Field(default=None, max_length=20)
    outcome_at: datetime | None = _moment()
    status: str = Field(default="booked", max_length=10)


class ReportingVideoRooms(SQLModel, table=True):
    """Fact: an office's video rooms as last declared (offices without a row use the
    registry's default: one room when it offers video meetings)."""

    __tablename__ = "reporting_video_rooms"

    office_id: str = Field(primary_key=True, max_length=60)
    rooms: str = Field(max_length=2000)
    room_count: int
    declared_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


MEETING_TABLES = [ReportingMeeting.__table__, ReportingVideoRooms.__table__]
