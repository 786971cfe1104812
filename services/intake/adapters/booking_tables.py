"""The calendar's and the bookings' tables, and their repository.

The guarantees live in the keys (docs/bookings.md): ``intake_slot_claims`` has the slot
as primary key (a slot is booked once), ``intake_room_claims`` one row per room and
5-minute block (a room holds one meeting at a time), ``intake_booking_codes`` one row per
office and open code. They are written in the same transaction as the booking's events,
so two replicas racing for one slot or room cannot both commit: the loser's insert
fails, and its handler looks again (and finds the slot taken, or the next one free).
Times are stored in UTC (SQLite keeps no zone)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Column, Connection, DateTime, Index, Text, delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, SQLModel, col
from sqlmodel.ext.asyncio.session import AsyncSession

from services.intake.domain.booking import ClaimLost
from services.intake.domain.calendar import room_blocks, slot_id, utc
from services.intake.domain.events import SlotsPublished
from shared.tables import utc_timestamp


class SlotRow(SQLModel, table=True):
    """One published slot (one official's time), offered at ``office_ids``."""

    __tablename__ = "intake_slots"

    slot_id: str = Field(primary_key=True, max_length=36)
    publication_id: str = Field(index=True, max_length=64)
    agency: str = Field(index=True, max_length=40)
    kind: str = Field(max_length=20)
    slot_start: datetime = Field(sa_column=utc_timestamp())
    length_minutes: int
    case_types: str = Field(sa_column=Column(Text, nullable=False))  # JSON list
    office_ids: str = Field(sa_column=Column(Text, nullable=False))  # JSON list


class SlotClaim(SQLModel, table=True):
    __tablename__ = "intake_slot_claims"

    slot_id: str = Field(primary_key=True, max_length=36)
    booking_id: str = Field(index=True, max_length=36)


class RoomClaim(SQLModel, table=True):
    __tablename__ = "intake_room_claims"

    office_id: str = Field(primary_key=True, max_length=60)
    room: str = Field(primary_key=True, max_length=60)
    block_start: datetime = Field(sa_column=Column(DateTime(timezone=True), primary_key=True))
    booking_id: str = Field(index=True, max_length=36)


class BookingCode(SQLModel, table=True):
    """The codes of the office's open bookings: unique per office while open."""

    __tablename__ = "intake_booking_codes"

    office_id: str = Field(primary_key=True, max_length=60)
    code: str = Field(primary_key=True, max_length=12)
    booking_id: str = Field(index=True, max_length=36)


class BookingRow(SQLModel, table=True):
    """What the routes, the no-show worker and the agency's callbacks look up by booking,
    and what a visit's overview and an office's day list show (one query each).

    The columns after ``phone_masked`` came with migration 0008 and are nullable: a row
    written before it gets them from the booking's events at intake's start
    (``handlers.bookings.fill_booking_rows``); ``agency`` is NULL until then."""

    __tablename__ = "intake_bookings"
    __table_args__ = (Index("ix_intake_bookings_office_day", "office_id", "slot_start"),)  # the day list

    booking_id: str = Field(primary_key=True, max_length=36)
    office_id: str = Field(index=True, max_length=60)
    code: str = Field(max_length=12)
    slot_id: str = Field(max_length=36)
    slot_start: datetime = Field(sa_column=utc_timestamp())
    status: str = Field(index=True, max_length=20)
    agency_status: str = Field(default="pending", max_length=20)
    phone_masked: str | None = Field(default=None, max_length=40)
    visit_id: str | None = Field(default=None, index=True, max_length=36)  # booked for (a desk's visit)
    question_id: str | None = Field(default=None, max_length=36)
    checked_in_visit_id: str | None = Field(default=None, index=True, max_length=36)  # made at check-in
    agency: str | None = Field(default=None, max_length=40)
    case_type: str | None = Field(default=None, max_length=40)
    kind: str | None = Field(default=None, max_length=20)
    length_minutes: int | None = None
    room: str | None = Field(default=None, max_length=60)
    has_identity_number: bool | None = None
    outcome: str | None = Field(default=None, max_length=30)


BOOKING_TABLES = [
    t.__table__ for t in (SlotRow, SlotClaim, RoomClaim, BookingCode, BookingRow)  # type: ignore[attr-defined]
]


def create_missing_indexes(conn: Connection) -> None:
    """A SQLite file made before migration 0008 gets the new columns from ``create_tables``
    but not their indexes (``create_all`` skips a table that exists)."""
    for index in BookingRow.__table__.indexes:  # type: ignore[attr-defined]
        index.create(conn, checkfirst=True)


@dataclass(frozen=True)
class Slot:
    slot_id: str
    agency: str
    kind: str
    slot_start: datetime
    length_minutes: int
    case_types: list[str]
    office_ids: list[str]

    @classmethod
    def of(cls, row: SlotRow) -> Slot:
        return cls(
            row.slot_id, row.agency, row.kind, utc(row.slot_start), row.length_minutes,
            json.loads(row.case_types), json.loads(row.office_ids),
        )

    def offers(self, office_id: str, case_type: str | None) -> bool:
        return office_id in self.office_ids and (case_type is None or case_type in self.case_types)


class SqlBookingTables:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def flush(self) -> None:
        """Write the claims now: a unique key another transaction holds raises
        ``ClaimLost`` (PostgreSQL waits for that transaction to end first)."""
        try:
            await self.session.flush()
        except IntegrityError as error:
            raise ClaimLost("claimed by another booking first") from error

    # -- slots ----------------------------------------------------------------------------
    async def add_slots(self, event: SlotsPublished) -> int:
        known = set((await self.session.exec(
            select(SlotRow.slot_id).where(SlotRow.publication_id == event.publication_id)
        )).scalars())
        added = 0
        for start in dict.fromkeys(utc(s) for s in event.starts):
            sid = slot_id(event.publication_id, start)
            if sid in known:
                continue
            self.session.add(SlotRow(
                slot_id=sid, publication_id=event.publication_id, agency=event.agency, kind=event.kind,
                slot_start=start, length_minutes=event.length_minutes,
                case_types=json.dumps(event.case_types), office_ids=json.dumps(event.office_ids),
            ))
            added += 1
        return added

    async def slots(
        self, start: datetime, end: datetime, agency: str | None = None, kind: str | None = None,
        free_only: bool = True,
    ) -> list[Slot]:
        """Slots starting in ``[start, end]``, the claimed ones left out by default."""
        query = select(SlotRow).where(SlotRow.slot_start >= utc(start), SlotRow.slot_start <= utc(end))
        if agency is not None:
            query = query.where(SlotRow.agency == agency)
        if kind is not None:
            query = query.where(SlotRow.kind == kind)
        if free_only:
            query = query.where(SlotRow.slot_id.not_in(select(SlotClaim.slot_id)))
        rows = (await self.session.exec(query.order_by(SlotRow.slot_start, SlotRow.slot_id))).scalars()
        return [Slot.of(r) for r in rows]

    async def slot(self, slot_id_: str) -> Slot | None:
        row = await self.session.get(SlotRow, slot_id_)
        return Slot.of(row) if row else None

    def claim_slot(self, slot_id_: str, booking_id: str) -> None:
        self.session.add(SlotClaim(slot_id=slot_id_, booking_id=booking_id))

    # -- rooms ----------------------------------------------------------------------------
    async def busy_blocks(self, office_id: str, start: datetime, end: datetime) -> set[tuple[str, datetime]]:
        """(room, block) pairs held in ``[start, end)``."""
        rows = await self.session.exec(
            select(RoomClaim.room, RoomClaim.block_start).where(
                RoomClaim.office_id == office_id,
                RoomClaim.block_start >= utc(start) - timedelta(minutes=5),
                RoomClaim.block_start < utc(end),
            )
        )
        return {(room, utc(block)) for room, block in rows.all()}

    async def free_room(self, office_id: str, rooms: list[str], start: datetime, length_minutes: int) -> str | None:
        blocks = room_blocks(start, length_minutes)
        busy = await self.busy_blocks(office_id, blocks[0], blocks[-1] + timedelta(minutes=5))
        return next((r for r in rooms if not any((r, b) in busy for b in blocks)), None)

    def claim_room(self, office_id: str, room: str, start: datetime, length_minutes: int, booking_id: str) -> None:
        for block in room_blocks(start, length_minutes):
            self.session.add(RoomClaim(office_id=office_id, room=room, block_start=block, booking_id=booking_id))

    async def release(self, booking_id: str) -> None:
        """Free the booking's slot and room (cancel, no-show, a move's old time)."""
        await self.session.exec(delete(SlotClaim).where(SlotClaim.booking_id == booking_id))
        await self.release_room(booking_id)

    async def release_room(self, booking_id: str) -> None:
        await self.session.exec(delete(RoomClaim).where(RoomClaim.booking_id == booking_id))

    # -- bookings -------------------------------------------------------------------------
    async def code_taken(self, office_id: str, code: str) -> bool:
        return await self.session.get(BookingCode, (office_id, code)) is not None

    def add_booking(self, row: BookingRow) -> None:
        self.session.add(row)
        self.session.add(BookingCode(office_id=row.office_id, code=row.code, booking_id=row.booking_id))

    async def booking(self, booking_id: str) -> BookingRow | None:
        return await self.session.get(BookingRow, booking_id)

    async def booking_of_code(self, office_id: str, code: str) -> str | None:
        row = await self.session.get(BookingCode, (office_id, code))
        return row.booking_id if row else None

    async def set_status(self, booking_id: str, status: str, close_code: bool = False) -> None:
        await self.set_columns(booking_id, status=status)
        if close_code:
            await self.session.exec(delete(BookingCode).where(BookingCode.booking_id == booking_id))

    async def set_slot(self, booking_id: str, slot_id_: str, slot_start: datetime, room: str | None) -> None:
        await self.set_columns(booking_id, slot_id=slot_id_, slot_start=utc(slot_start), room=room)

    async def set_agency_status(self, booking_id: str, agency_status: str) -> None:
        await self.set_columns(booking_id, agency_status=agency_status)

    async def set_columns(self, booking_id: str, **values: object) -> None:
        await self.session.exec(update(BookingRow).where(BookingRow.booking_id == booking_id).values(**values))

    async def of_visit(self, visit_id: str) -> list[BookingRow]:
        """The bookings made for the visit or whose check-in made it, by time."""
        rows = await self.session.exec(
            select(BookingRow)
            .where(or_(BookingRow.visit_id == visit_id, BookingRow.checked_in_visit_id == visit_id))
            .order_by(BookingRow.slot_start, BookingRow.code)
        )
        return list(rows.scalars())

    async def of_office(
        self, office_id: str, start: datetime, end: datetime, status: str | None = None
    ) -> list[BookingRow]:
        """The office's bookings starting in ``[start, end)``, by time."""
        query = select(BookingRow).where(
            BookingRow.office_id == office_id, BookingRow.slot_start >= utc(start), BookingRow.slot_start < utc(end)
        )
        if status is not None:
            query = query.where(BookingRow.status == status)
        rows = await self.session.exec(query.order_by(BookingRow.slot_start, BookingRow.code))
        return list(rows.scalars())

    async def unfilled(self, limit: int = 500) -> list[str]:
        """Rows written before migration 0008 whose new columns are still empty."""
        rows = await self.session.exec(
            select(BookingRow.booking_id).where(col(BookingRow.agency).is_(None)).order_by(BookingRow.booking_id).limit(limit)
        )
        return list(rows.scalars())

    async def overdue(self, before: datetime, limit: int = 200) -> list[str]:
        """Open bookings whose time began before ``before`` (no-show candidates)."""
        rows = await self.session.exec(
            select(BookingRow.booking_id)
            .where(BookingRow.status.in_(("booked", "moved")), BookingRow.slot_start <= utc(before))
            .order_by(BookingRow.slot_start).limit(limit)
        )
        return list(rows.scalars())
