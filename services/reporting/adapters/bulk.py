"""Bulk writes of folded records, and the consumer bookkeeping a replay resets."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import fields
from datetime import UTC, datetime
from operator import attrgetter
from typing import Any

from sqlalchemy import Table, delete, insert
from sqlalchemy.ext.asyncio import AsyncConnection

from services.reporting.adapters.bi_tables import ReplayRun
from services.reporting.adapters.day_tables import (
    ReportingDeskSession,
    ReportingQueueEvent,
    ReportingServiceStep,
    ReportingVisitFlow,
)
from services.reporting.adapters.meeting_tables import ReportingMeeting, ReportingVideoRooms
from services.reporting.adapters.steering_tables import (
    ReportingAgencyDecision,
    ReportingPersonLink,
    ReportingWaitEstimate,
)
from services.reporting.adapters.tables import FACT_TABLES, ReportingQuestion, ReportingVisit
from services.reporting.domain.day import DeskSession, QueueEvent, ServiceStep, VisitFlow
from services.reporting.domain.fold import Fold
from services.reporting.domain.meeting_rules import MeetingRecord, VideoRooms
from services.reporting.domain.model import QuestionRecord, VisitRecord
from services.reporting.domain.steering_rules import AgencyDecision, PersonLink, WaitEstimate
from shared.tables import InboxEntry, SubscriberPosition

CHUNK = 5_000


async def clear_facts(conn: AsyncConnection) -> None:
    """Empty the fact tables and drop their secondary indexes: building an index once
    after the load is much cheaper than keeping it up to date row by row."""
    for table in FACT_TABLES:
        await conn.execute(delete(table))
        for index in table.indexes:
            await conn.run_sync(index.drop, checkfirst=True)


async def index_facts(conn: AsyncConnection) -> None:
    for table in FACT_TABLES:
        for index in table.indexes:
            await conn.run_sync(index.create, checkfirst=True)


def _for_sqlite(rows: list[tuple], cls: type) -> list[tuple]:
    """What SQLAlchemy's SQLite types would store: UTC wall time as text, 0/1."""
    kinds = [str(f.type) for f in fields(cls)]
    convert = [i for i, kind in enumerate(kinds) if "datetime" in kind or "bool" in kind]
    out = []
    for row in rows:
        values = list(row)
        for i in convert:
            v = values[i]
            if v.__class__ is datetime:
                values[i] = v.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
            elif v.__class__ is bool:
                values[i] = int(v)
        out.append(tuple(values))
    return out


async def _insert(conn: AsyncConnection, table: Table, records: Iterable[Any], cls: type) -> None:
    names = [f.name for f in fields(cls)]
    getter = attrgetter(*names)
    rows = [getter(r) for r in records]
    if conn.dialect.name == "sqlite":
        rows = _for_sqlite(rows, cls)
        # The driver's own executemany, in the same transaction: SQLAlchemy's per-row
        # parameter processing would cost more than the fold itself.
        sql = f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"
        driver = (await conn.get_raw_connection()).driver_connection
        await driver.execute("PRAGMA cache_size=-262144")  # 256 MB: indexes stay in memory
        rows.sort(key=lambda r: r[0])  # primary-key order: appends, not page splits
        for start in range(0, len(rows), CHUNK * 4):
            await driver.executemany(sql, rows[start : start + CHUNK * 4])  # type: ignore[union-attr]
        return
    for start in range(0, len(rows), CHUNK):
        await conn.execute(
            insert(table), [dict(zip(names, r, strict=True)) for r in rows[start : start + CHUNK]]
        )


async def write_records(
    conn: AsyncConnection, visits: Iterable[VisitRecord], questions: Iterable[QuestionRecord]
) -> None:
    await _insert(conn, ReportingVisit.__table__, visits, VisitRecord)
    await _insert(conn, ReportingQuestion.__table__, questions, QuestionRecord)


async def write_day(conn: AsyncConnection, fold: Fold) -> None:
    """The office day's rows of a folded batch: queue events, flows, steps, sessions."""
    derived = fold.derived()
    events = [e for log in fold.queue_logs.values() for e in log.values()]
    await _insert(conn, ReportingQueueEvent.__table__, events, QueueEvent)
    await _insert(conn, ReportingVisitFlow.__table__, [d.flow for d in derived], VisitFlow)
    steps = [s for d in derived for s in d.steps]
    await _insert(conn, ReportingServiceStep.__table__, steps, ServiceStep)
    await _insert(conn, ReportingDeskSession.__table__, fold.sessions(), DeskSession)
    await write_steering(conn, fold)
    await write_meetings(conn, fold)


async def write_steering(conn: AsyncConnection, fold: Fold) -> None:
    """The steering facts: estimates shown, person links (none of an erased visit), decisions."""
    s = fold.steering
    estimates = [WaitEstimate(v, m) for v, m in s.estimates.items()]
    await _insert(conn, ReportingWaitEstimate.__table__, estimates, WaitEstimate)
    await _insert(conn, ReportingPersonLink.__table__, s.live_links(), PersonLink)
    await _insert(conn, ReportingAgencyDecision.__table__, s.decisions.values(), AgencyDecision)


async def write_meetings(conn: AsyncConnection, fold: Fold) -> None:
    """The meetings' facts: one row per booking, the offices' declared video rooms."""
    await _insert(conn, ReportingMeeting.__table__, fold.meetings.meetings.values(), MeetingRecord)
    await _insert(conn, ReportingVideoRooms.__table__, fold.meetings.rooms.values(), VideoRooms)


async def reset_consumer(conn: AsyncConnection, consumer: str, ends: Mapping[tuple[str, int], int]) -> None:
    """The live consumer resumes after what the replay read: its positions become the
    logs' ends and its inbox (ids of events now folded in) is emptied."""
    positions, inbox = SubscriberPosition.__table__, InboxEntry.__table__
    await conn.execute(delete(inbox).where(inbox.c.consumer == consumer))
    await conn.execute(delete(positions).where(positions.c.subscriber == consumer))
    rows = [
        {"subscriber": consumer, "topic": topic, "partition": partition, "position": end}
        for (topic, partition), end in ends.items()
    ]
    if rows:
        await conn.execute(insert(positions), rows)


async def record_run(conn: AsyncConnection, started: datetime, finished: datetime, **counts: int) -> None:
    await conn.execute(
        insert(ReplayRun.__table__).values(started_at=started, finished_at=finished, **counts)
    )
