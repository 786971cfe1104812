"""Read side of the meetings figures: the bookings of a span of meeting days (by office,
agency and kind) and the offices' declared video rooms, straight from the facts."""

from __future__ import annotations

from dataclasses import fields
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from services.reporting.adapters.meeting_tables import ReportingMeeting, ReportingVideoRooms
from services.reporting.domain.meeting_rules import MeetingRecord

M, R = ReportingMeeting.__table__.c, ReportingVideoRooms.__table__.c
_COLUMNS = [M[f.name] for f in fields(MeetingRecord)]


class SqlMeetingReader:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def meetings(self, first: date | None, last: date | None, office_id: str | None = None,
                       agency: str | None = None, kind: str | None = None) -> list[MeetingRecord]:
        """Bookings whose meeting day is in the span (booked ones only: a row made of a
        move or cancellation whose booking has not arrived yet has no agency)."""
        where = [M.service_day.isnot(None), M.agency.isnot(None)]
        if first is not None:
            where.append(M.service_day >= first.isoformat())
        if last is not None:
            where.append(M.service_day <= last.isoformat())
        for column, value in ((M.office_id, office_id), (M.agency, agency), (M.kind, kind)):
            if value is not None:
                where.append(column == value)
        async with self.engine.connect() as conn:
            rows = (await conn.execute(select(*_COLUMNS).where(*where))).all()
        return [MeetingRecord(*row) for row in rows]

    async def rooms(self) -> dict[str, int]:
        """Rooms per office that declared its video rooms."""
        async with self.engine.connect() as conn:
            return dict((await conn.execute(select(R.office_id, R.room_count))).all())
