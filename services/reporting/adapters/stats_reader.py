"""The reporting store's read side: GROUP BY queries in SQLAlchemy Core, the same SQL on
SQLite and PostgreSQL. Medians are computed by the caller from the grouped durations."""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Protocol

from sqlalchemy import ColumnElement, case, distinct, func, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine

from services.reporting.adapters.tables import ReportingQuestion, ReportingVisit
from services.reporting.domain.model import DELIVERED
from services.reporting.domain.stats import StatsFilter, VisitGroup

V = ReportingVisit.__table__.c
Q = ReportingQuestion.__table__.c
LevelCounts = dict[str | None, int]


class StatsReader(Protocol):
    async def visit_groups(self, f: StatsFilter, group_by: str) -> list[VisitGroup]:
        """Visits grouped by ``day``, ``office`` or ``agency`` (of their questions)."""

    async def case_type_counts(
        self, f: StatsFilter, groups: tuple[str, ...]
    ) -> list[tuple[dict[str, str | None], int]]:
        """Classified questions counted by the given columns of agency, case_type, level."""

    async def summary(self, f: StatsFilter) -> dict[str, Any]:
        """Visit and question totals, questions by level (None: unclassified), cases."""


def _days(day: Any, f: StatsFilter) -> list[ColumnElement[bool]]:
    conditions = [day.isnot(None)]
    if f.first_day:
        conditions.append(day >= f.first_day)
    if f.last_day:
        conditions.append(day <= f.last_day)
    return conditions


def _question_keys(f: StatsFilter) -> list[ColumnElement[bool]]:
    return [Q[n] == getattr(f, n) for n in ("agency", "level", "case_type") if getattr(f, n)]


def visit_filter(f: StatsFilter) -> list[ColumnElement[bool]]:
    """Visits of the days and office; with an agency, level or case type: only visits
    with at least one such question."""
    conditions = _days(V.service_day, f) + ([V.office_id == f.office_id] if f.office_id else [])
    if f.narrows_questions:
        conditions.append(V.visit_id.in_(select(Q.visit_id).where(*_question_keys(f))))
    return conditions


def question_filter(f: StatsFilter) -> list[ColumnElement[bool]]:
    conditions = _days(Q.service_day, f) + _question_keys(f)
    if f.office_id is not None:
        conditions.append(Q.office_id == f.office_id)
    return conditions


class SqlStats:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def _rows(self, statement: Any) -> list[Any]:
        async with self.engine.connect() as conn:
            return list((await conn.execute(statement)).all())

    async def visit_groups(self, f: StatsFilter, group_by: str) -> list[VisitGroup]:
        if group_by == "agency":
            return await self._agency_groups(f)
        key = V.service_day if group_by == "day" else V.office_id
        where = [*visit_filter(f), key.isnot(None)]
        counts = (
            select(
                key,
                func.count(),
                func.coalesce(func.sum(V.question_count), 0),
                func.count(V.ended_at),
            )
            .where(*where)
            .group_by(key)
        )
        groups = {k: VisitGroup(k, n, int(q), e) for k, n, q, e in await self._rows(counts)}
        times = select(key, V.wait_seconds, V.service_seconds).where(
            *where, or_(V.wait_seconds.isnot(None), V.service_seconds.isnot(None))
        )
        return self._with_times(groups, await self._rows(times))

    async def _agency_groups(self, f: StatsFilter) -> list[VisitGroup]:
        where = [*question_filter(f), Q.agency.isnot(None)]
        joined = ReportingQuestion.__table__.outerjoin(
            ReportingVisit.__table__, V.visit_id == Q.visit_id
        )
        ended = case((V.ended_at.isnot(None), V.visit_id), else_=None)
        counts = (
            select(
                Q.agency,
                func.count(distinct(Q.visit_id)),
                func.count(),
                func.count(distinct(ended)),
            )
            .select_from(joined)
            .where(*where)
            .group_by(Q.agency)
        )
        groups = {k: VisitGroup(k, n, q, e) for k, n, q, e in await self._rows(counts)}
        times = (
            select(Q.agency, V.visit_id, V.wait_seconds, V.service_seconds)
            .distinct()
            .select_from(joined)
            .where(*where)
        )
        return self._with_times(groups, [(a, w, s) for a, _, w, s in await self._rows(times)])

    @staticmethod
    def _with_times(groups: dict[str, VisitGroup], times: list[Any]) -> list[VisitGroup]:
        for key, wait, service in times:
            if wait is not None:
                groups[key].waits.append(wait)
            if service is not None:
                groups[key].services.append(service)
        return list(groups.values())

    async def case_type_counts(
        self, f: StatsFilter, groups: tuple[str, ...]
    ) -> list[tuple[dict[str, str | None], int]]:
        columns = [Q[g] for g in groups]
        statement = (
            select(*columns, func.count())
            .where(*question_filter(f), Q.agency.isnot(None))
            .group_by(*columns)
        )
        return [(dict(zip(groups, row[:-1], strict=True)), row[-1]) for row in await self._rows(statement)]

    async def summary(self, f: StatsFilter) -> dict[str, Any]:
        visits, ended = (
            await self._rows(select(func.count(), func.count(V.ended_at)).where(*visit_filter(f)))
        )[0]
        by_level: LevelCounts = defaultdict(int)
        levels = select(Q.level, func.count()).where(*question_filter(f)).group_by(Q.level)
        for level, n in await self._rows(levels):
            by_level[level] += n
        routed = or_(Q.routed_at.isnot(None), Q.delivery_status.isnot(None))
        delivered = Q.delivery_status == DELIVERED
        cases = select(func.count(case((routed, 1))), func.count(case((delivered, 1))))
        cases_routed, cases_delivered = (await self._rows(cases.where(*question_filter(f))))[0]
        return {
            "visits": visits,
            "visits_ended": ended,
            "by_level": dict(by_level),
            "cases_routed": cases_routed,
            "cases_delivered": cases_delivered,
        }
