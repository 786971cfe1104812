"""Read side of the office day: per-visit waits and per-step service times for the
waits endpoint, straight from the facts (exact at any moment)."""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from services.reporting.adapters.day_tables import ReportingServiceStep, ReportingVisitFlow
from services.reporting.domain.stats import StatsFilter

F = ReportingVisitFlow.__table__.c
S = ReportingServiceStep.__table__.c
_VISIT_KEY = {"office": F.office_id, "queue": F.queue, "hour": F.registered_hour,
              "weekday": F.registered_weekday}
_STEP_KEY = {"office": S.office_id, "queue": S.queue, "hour": S.called_hour, "weekday": S.called_weekday}
Rows = list[tuple[Any, ...]]


class DayStatsReader(Protocol):
    async def waits(self, f: StatsFilter, group_by: str) -> tuple[Rows, Rows]:
        """(key, channel, wait_seconds) per visit, (key, service_seconds, end_reason,
        recalls) per service step."""


def _where(columns: Any, f: StatsFilter) -> list[Any]:
    conditions = [columns.service_day.isnot(None)]
    if f.first_day:
        conditions.append(columns.service_day >= f.first_day)
    if f.last_day:
        conditions.append(columns.service_day <= f.last_day)
    if f.office_id:
        conditions.append(columns.office_id == f.office_id)
    return conditions


class SqlDayStats:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def waits(self, f: StatsFilter, group_by: str) -> tuple[Rows, Rows]:
        visits = select(_VISIT_KEY[group_by], F.channel, F.wait_seconds).where(*_where(F, f))
        steps = select(_STEP_KEY[group_by], S.service_seconds, S.end_reason, S.recalls).where(*_where(S, f))
        async with self.engine.connect() as conn:
            return ([tuple(r) for r in (await conn.execute(visits)).all()],
                    [tuple(r) for r in (await conn.execute(steps)).all()])
