"""Read side beyond the contract endpoints: GROUP BY queries on the facts (exact at any
moment, whatever the aggregates' lag). Shapes and rates are computed by the domain."""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from services.reporting.adapters.aggregates import count_if
from services.reporting.adapters.stats_reader import Q, V, question_filter, visit_filter
from services.reporting.adapters.tables import ReportingVisit
from services.reporting.domain.stats import StatsFilter

Rows = list[tuple[Any, ...]]


class AnalyticsReader(Protocol):
    async def offices(self) -> list[str]:
        """Every office the facts name."""

    async def time_of_day(self, f: StatsFilter) -> Rows:
        """(weekday, hour, visits)."""

    async def visits_by_day(self, f: StatsFilter) -> Rows:
        """(day, visits, questions of those visits)."""

    async def questions_by_day(self, f: StatsFilter, key: str | None) -> Rows:
        """(day, key value or None, questions) of classified questions."""

    async def destinations(self, f: StatsFilter) -> Rows:
        """(agency, destination, questions) of complex questions."""

    async def forwarding(self, f: StatsFilter) -> tuple[Rows, Rows]:
        """Per agency (agency, cases, delivered, dead_lettered, attempts, failed attempts),
        and (agency, forward_seconds) of delivered cases."""

    async def overrides(self, f: StatsFilter) -> tuple[Rows, Rows]:
        """(agency, classified, overridden) by the classifier's agency, and
        (classified_level, level, n) of overridden questions."""

    async def satisfaction(self, f: StatsFilter, by: str | None) -> Rows:
        """(key, answers, satisfied treatment, satisfied time, got help, sum of treatment,
        sum of time) by ``office`` or ``agency`` (of the visit's questions), or in all."""

    async def case_mix(self, f: StatsFilter) -> tuple[Rows, Rows]:
        """(office, agency, questions) and (office, visits) for the cost allocation."""


class SqlAnalytics:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def _rows(self, statement: Any) -> Rows:
        async with self.engine.connect() as conn:
            return [tuple(r) for r in (await conn.execute(statement)).all()]

    async def offices(self) -> list[str]:
        query = select(V.office_id).where(V.office_id.isnot(None)).distinct().order_by(V.office_id)
        return [r[0] for r in await self._rows(query)]

    async def time_of_day(self, f: StatsFilter) -> Rows:
        keys = (V.registered_weekday, V.registered_hour)
        where = [*visit_filter(f), V.registered_hour.isnot(None)]
        return await self._rows(select(*keys, func.count()).where(*where).group_by(*keys))

    async def visits_by_day(self, f: StatsFilter) -> Rows:
        query = select(V.service_day, func.count(), func.coalesce(func.sum(V.question_count), 0))
        return await self._rows(query.where(*visit_filter(f)).group_by(V.service_day))

    async def questions_by_day(self, f: StatsFilter, key: str | None) -> Rows:
        column = Q[key] if key else Q.service_day
        where = [*question_filter(f), Q.agency.isnot(None)]
        query = select(Q.service_day, column, func.count()).where(*where)
        return await self._rows(query.group_by(Q.service_day, column))

    async def destinations(self, f: StatsFilter) -> Rows:
        where = [*question_filter(f), Q.level == "complex", Q.agency.isnot(None)]
        query = select(Q.agency, Q.destination, func.count()).where(*where)
        return await self._rows(query.group_by(Q.agency, Q.destination))

    async def forwarding(self, f: StatsFilter) -> tuple[Rows, Rows]:
        where = [*question_filter(f), Q.delivery_status.isnot(None), Q.agency.isnot(None)]
        counts = select(
            Q.agency,
            func.count(),
            count_if(Q.delivery_status == "delivered"),
            count_if(Q.delivery_status == "dead_lettered"),
            func.coalesce(func.sum(Q.delivery_attempts), 0),
            func.coalesce(func.sum(Q.failed_attempts), 0),
        ).where(*where).group_by(Q.agency)
        latency = select(Q.agency, Q.forward_seconds).where(*where, Q.forward_seconds.isnot(None))
        return await self._rows(counts), await self._rows(latency)

    async def overrides(self, f: StatsFilter) -> tuple[Rows, Rows]:
        where = [*question_filter(f), Q.classified_level.isnot(None)]
        by_agency = select(
            Q.classified_agency, func.count(), count_if(Q.overridden.is_(True))
        ).where(*where).group_by(Q.classified_agency)
        moves = select(Q.classified_level, Q.level, func.count()).where(
            *where, Q.overridden.is_(True)
        ).group_by(Q.classified_level, Q.level)
        return await self._rows(by_agency), await self._rows(moves)

    async def satisfaction(self, f: StatsFilter, by: str | None) -> Rows:
        measures = (
            func.count(),
            count_if(V.satisfaction_treatment >= 4),
            count_if(V.satisfaction_time >= 4),
            count_if(V.satisfaction_got_help.is_(True)),
            func.sum(V.satisfaction_treatment),
            func.sum(V.satisfaction_time),
        )
        where = [*visit_filter(f), V.satisfaction_treatment.isnot(None)]
        if by == "office":
            return await self._rows(select(V.office_id, *measures).where(*where).group_by(V.office_id))
        if by == "agency":
            # A visit counts for each agency its questions went to (the sources' table 2).
            pairs = select(Q.visit_id, Q.agency).where(Q.agency.isnot(None)).distinct().subquery()
            joined = ReportingVisit.__table__.join(pairs, pairs.c.visit_id == V.visit_id)
            query = select(pairs.c.agency, *measures).select_from(joined).where(*where)
            return await self._rows(query.group_by(pairs.c.agency))
        return [(None, *r) for r in await self._rows(select(*measures).where(*where)) if r[0]]

    async def case_mix(self, f: StatsFilter) -> tuple[Rows, Rows]:
        where = [*question_filter(f), Q.agency.isnot(None), Q.office_id.isnot(None)]
        mix = select(Q.office_id, Q.agency, func.count()).where(*where)
        visits = select(V.office_id, func.count()).where(*visit_filter(f), V.office_id.isnot(None))
        return (
            await self._rows(mix.group_by(Q.office_id, Q.agency)),
            await self._rows(visits.group_by(V.office_id)),
        )
