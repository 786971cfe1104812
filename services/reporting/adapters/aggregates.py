"""Daily aggregates, rebuilt from the facts with ``INSERT … SELECT … GROUP BY`` (the same
SQL on SQLite and PostgreSQL) for the days marked dirty, or for all days after a replay."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Numeric, case, cast, delete, func, insert, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from services.reporting.adapters.bi_tables import AggCaseTypeDay, AggOfficeDay, DirtyDay
from services.reporting.adapters.tables import ReportingQuestion, ReportingVisit

V = ReportingVisit.__table__.c
Q = ReportingQuestion.__table__.c
OFFICE_DAY = AggOfficeDay.__table__
CASE_TYPE_DAY = AggCaseTypeDay.__table__
DIRTY = DirtyDay.__table__


def upsert(dialect: str, table: Any):
    """``INSERT`` with ``ON CONFLICT`` for the dialect at hand."""
    return (postgresql if dialect == "postgresql" else sqlite).insert(table)


async def mark_dirty(session: Any, days: Sequence[str]) -> None:
    """Mark days for the aggregates' rebuild (in the caller's transaction)."""
    if not days:
        return
    statement = upsert(session.bind.dialect.name, DIRTY).values(
        [{"service_day": d, "generation": 1} for d in sorted(set(days))]
    )
    statement = statement.on_conflict_do_update(
        index_elements=["service_day"], set_={"generation": DIRTY.c.generation + 1}
    )
    await session.exec(statement)


def seconds_sum(column: Any) -> ColumnElement[float]:
    """A sum of millisecond durations, rounded so that it does not depend on row order."""
    return func.round(cast(func.coalesce(func.sum(column), 0), Numeric), 3)


def count_if(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _office_day_select(days: Sequence[str] | None):
    where = [V.service_day.isnot(None), V.office_id.isnot(None)]
    if days is not None:
        where.append(V.service_day.in_(days))
    return select(
        V.service_day,
        V.office_id,
        func.count(),
        count_if(V.channel == "kiosk"),
        count_if(V.channel == "desk"),
        func.count(V.called_at),
        func.count(V.ended_at),
        func.coalesce(func.sum(V.question_count), 0),
        seconds_sum(V.wait_seconds),
        func.count(V.wait_seconds),
        seconds_sum(V.service_seconds),
        func.count(V.service_seconds),
        func.count(V.satisfaction_treatment),
        count_if(V.satisfaction_treatment >= 4),
        count_if(V.satisfaction_time >= 4),
        count_if(V.satisfaction_got_help.is_(True)),
    ).where(*where).group_by(V.service_day, V.office_id)


def _case_type_day_select(days: Sequence[str] | None):
    where = [Q.service_day.isnot(None), Q.office_id.isnot(None), Q.agency.isnot(None)]
    if days is not None:
        where.append(Q.service_day.in_(days))
    keys = (Q.service_day, Q.office_id, Q.agency, Q.case_type, Q.level)
    return select(
        *keys,
        func.count(),
        count_if(Q.overridden.is_(True)),
        count_if(or_(Q.routed_at.isnot(None), Q.delivery_status.isnot(None))),
        *(count_if(Q.destination == d) for d in DESTINATIONS),
        count_if(Q.delivery_status == "delivered"),
        count_if(Q.delivery_status == "dead_lettered"),
        func.coalesce(func.sum(Q.delivery_attempts), 0),
        func.coalesce(func.sum(Q.failed_attempts), 0),
        seconds_sum(Q.forward_seconds),
        func.count(Q.forward_seconds),
    ).where(*where).group_by(*keys)


DESTINATIONS = ("agency_system", "agency_desk", "video_meeting", "booked_meeting")
_OFFICE_DAY_COLUMNS = [c.name for c in OFFICE_DAY.columns]
_CASE_TYPE_DAY_COLUMNS = [c.name for c in CASE_TYPE_DAY.columns if c.name != "id"]


async def rebuild_aggregates(conn: AsyncConnection, days: Sequence[str] | None) -> None:
    """Recompute the aggregates of ``days`` (None: every day) from the facts."""
    for table in (OFFICE_DAY, CASE_TYPE_DAY):
        clear = delete(table)
        if days is not None:
            clear = clear.where(table.c.service_day.in_(days))
        await conn.execute(clear)
    await conn.execute(
        insert(OFFICE_DAY).from_select(_OFFICE_DAY_COLUMNS, _office_day_select(days))
    )
    await conn.execute(
        insert(CASE_TYPE_DAY).from_select(_CASE_TYPE_DAY_COLUMNS, _case_type_day_select(days))
    )


async def take_dirty_days(conn: AsyncConnection) -> list[tuple[str, int]]:
    return [tuple(r) for r in (await conn.execute(select(DIRTY.c.service_day, DIRTY.c.generation))).all()]


async def clear_dirty_days(conn: AsyncConnection, marks: Sequence[tuple[str, int]] | None) -> None:
    """Remove the marks a rebuild has seen (None: all); a newer mark stays."""
    if marks is None:
        await conn.execute(delete(DIRTY))
        return
    for day, generation in marks:
        await conn.execute(
            delete(DIRTY).where(DIRTY.c.service_day == day, DIRTY.c.generation == generation)
        )
