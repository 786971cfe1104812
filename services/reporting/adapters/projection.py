"""The live projection's SQL side, set-based: a batch's stored records are read with one
``SELECT … WHERE key IN (…)`` per table, and its changes written with one statement per
table (an ``executemany`` upsert or insert, a ``DELETE … IN``), in the consumer's
transaction (with its inbox rows and position)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import fields
from datetime import datetime
from typing import Any

from sqlalchemy import Table, delete, insert, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel.ext.asyncio.session import AsyncSession

from services.reporting.adapters.aggregates import mark_dirty, upsert
from services.reporting.adapters.audit_log import AUDIT_TABLE
from services.reporting.adapters.day_tables import DAY_TABLES
from services.reporting.adapters.meeting_tables import MEETING_TABLES
from services.reporting.adapters.steering_tables import STEERING_TABLES
from services.reporting.adapters.tables import ReportingQuestion, ReportingVisit
from services.reporting.domain.day import DeskSession, QueueEvent
from services.reporting.domain.fold import Fold
from services.reporting.domain.live_fold import BatchKeys, Changes
from services.reporting.domain.meeting_rules import MeetingRecord, VideoRooms
from services.reporting.domain.model import QuestionRecord, VisitRecord, as_utc
from services.reporting.domain.steering_rules import SteeringRecords

VISITS, QUESTIONS = ReportingVisit.__table__, ReportingQuestion.__table__
EVENTS, FLOW, STEPS, SESSIONS = DAY_TABLES
ESTIMATES, LINKS, DECISIONS = STEERING_TABLES
MEETINGS, ROOMS = MEETING_TABLES


def _names(cls: type) -> list[str]:
    return [f.name for f in fields(cls)]


def _rows(records: Iterable[Any], names: Sequence[str]) -> list[dict[str, Any]]:
    return [{n: getattr(r, n) for n in names} for r in records]


def _records(rows: Iterable[Any], cls: type, names: Sequence[str]) -> list[Any]:
    """Records from rows; SQLite hands back naive UTC moments."""
    return [cls(*(as_utc(v) if isinstance(v, datetime) else v for v in row)) for row in rows]


class SqlProjection:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def _conn(self) -> AsyncConnection:
        return await self.session.connection()  # the unit of work's transaction

    async def _select(self, conn: AsyncConnection, table: Table, cls: type, where: Any) -> list[Any]:
        names = _names(cls)
        rows = (await conn.execute(select(*(table.c[n] for n in names)).where(where))).all()
        return _records(rows, cls, names)

    async def load(self, keys: BatchKeys, fold: Fold) -> None:
        """Seed ``fold`` with the stored records the batch names (every question of a
        named visit too: the visit's question count is theirs)."""
        conn = await self._conn()
        if keys.visits:
            for v in await self._select(conn, VISITS, VisitRecord, VISITS.c.visit_id.in_(keys.visits)):
                fold.visits[v.visit_id] = v
            named = QUESTIONS.c.visit_id.in_(keys.visits) | QUESTIONS.c.question_id.in_(keys.questions)
            for q in await self._select(conn, QUESTIONS, QuestionRecord, named):
                fold.questions[q.question_id] = q
            for e in await self._select(conn, EVENTS, QueueEvent, EVENTS.c.visit_id.in_(keys.visits)):
                fold.queue_log(e.visit_id)[e.key] = e
        if keys.desks:
            named_desks = tuple_(SESSIONS.c.office_id, SESSIONS.c.desk).in_(keys.desks)
            for s in await self._select(conn, SESSIONS, DeskSession, named_desks):
                fold.desk_log(s.office_id, s.desk).add_session(s)
        if keys.bookings:
            for m in await self._select(conn, MEETINGS, MeetingRecord, MEETINGS.c.booking_id.in_(keys.bookings)):
                fold.meetings.meetings[m.booking_id] = m
        if keys.rooms:
            for r in await self._select(conn, ROOMS, VideoRooms, ROOMS.c.office_id.in_(keys.rooms)):
                fold.meetings.rooms[r.office_id] = r

    async def save(self, changes: Changes) -> None:
        conn = await self._conn()
        await self._upsert(conn, VISITS, changes.visits, VisitRecord)
        await self._upsert(conn, QUESTIONS, changes.questions, QuestionRecord)
        await mark_dirty(self.session, sorted(changes.days))  # the aggregates' rebuild (old and new days)
        await self._insert(conn, EVENTS, changes.queue_events, QueueEvent)
        if changes.derived:
            visit_ids = [d.flow.visit_id for d in changes.derived]
            await conn.execute(delete(FLOW).where(FLOW.c.visit_id.in_(visit_ids)))
            await conn.execute(delete(STEPS).where(STEPS.c.visit_id.in_(visit_ids)))
            await self._insert(conn, FLOW, [d.flow for d in changes.derived])
            await self._insert(conn, STEPS, [s for d in changes.derived for s in d.steps])
        for s in changes.sessions:  # a desk's opening or closing: a few a day
            await conn.execute(delete(SESSIONS).where(
                SESSIONS.c.office_id == s.office_id, SESSIONS.c.desk == s.desk, SESSIONS.c.opened_at == s.opened_at))
        await self._insert(conn, SESSIONS, changes.sessions, DeskSession)
        await self._save_steering(conn, changes.steering)
        await self._replace(conn, MEETINGS, "booking_id", changes.meetings, MeetingRecord)
        await self._replace(conn, ROOMS, "office_id", changes.rooms, VideoRooms)

    async def _save_steering(self, conn: AsyncConnection, s: SteeringRecords) -> None:
        """Estimates overwrite; an erasure removes the visit's links, and no link of a visit
        erased before (its erasure is in the audit log) is stored; the earliest decision
        of a question stays."""
        estimates = [{"visit_id": v, "estimated_wait_minutes": m} for v, m in s.estimates.items()]
        if estimates:
            await conn.execute(delete(ESTIMATES).where(ESTIMATES.c.visit_id.in_(s.estimates)))
            await conn.execute(insert(ESTIMATES), estimates)
        if s.erased:
            await conn.execute(delete(LINKS).where(LINKS.c.visit_id.in_(s.erased)))
        links = s.live_links()
        if links:
            erased = select(AUDIT_TABLE.c.subject).where(
                AUDIT_TABLE.c.action == "erasure", AUDIT_TABLE.c.subject.in_({k.visit_id for k in links}))
            gone = set((await conn.execute(erased)).scalars())
            await self._replace(conn, LINKS, "question_id", [k for k in links if k.visit_id not in gone])
        if s.decisions:
            key = DECISIONS.c.question_id
            found = (await conn.execute(select(key, DECISIONS.c.decided_at).where(key.in_(s.decisions)))).all()
            stored = {q: as_utc(at) for q, at in found}
            await self._insert(conn, DECISIONS, [d for q, d in s.decisions.items() if q not in stored])
            for q, at in stored.items():
                if at > s.decisions[q].decided_at:
                    await conn.execute(update(DECISIONS).where(key == q).values(decided_at=s.decisions[q].decided_at))

    async def _replace(self, conn: AsyncConnection, table: Table, key: str, records: list, cls: type | None = None) -> None:
        if records:
            await conn.execute(delete(table).where(table.c[key].in_([getattr(r, key) for r in records])))
            await self._insert(conn, table, records, cls)

    async def _insert(self, conn: AsyncConnection, table: Table, records: list, cls: type | None = None) -> None:
        if records:
            names = _names(cls or type(records[0]))
            await conn.execute(insert(table), _rows(records, names))

    async def _upsert(self, conn: AsyncConnection, table: Table, records: list, cls: type) -> None:
        if not records:
            return
        names = _names(cls)
        statement = upsert(conn.dialect.name, table)
        [key] = [c.name for c in table.primary_key.columns]
        statement = statement.on_conflict_do_update(
            index_elements=[key], set_={n: statement.excluded[n] for n in names if n != key})
        await conn.execute(statement, _rows(records, names))
