"""Read side of the steering figures: visits, questions and desk sessions of a span of
service days, and an office's visits per day and hour, straight from the facts."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from services.reporting.adapters.day_tables import ReportingDeskSession, ReportingVisitFlow
from services.reporting.adapters.steering_tables import (
    ReportingAgencyDecision,
    ReportingPersonLink,
    ReportingWaitEstimate,
)
from services.reporting.adapters.tables import ReportingQuestion, ReportingVisit
from services.reporting.domain.model import as_utc
from services.reporting.domain.steering_inputs import QuestionRow, SessionRow, VisitRow

V, Q = ReportingVisit.__table__.c, ReportingQuestion.__table__.c
F, E = ReportingVisitFlow.__table__.c, ReportingWaitEstimate.__table__.c
L, D = ReportingPersonLink.__table__.c, ReportingAgencyDecision.__table__.c
S = ReportingDeskSession.__table__.c


def _span(column, first: date | None, last: date | None, office_id: str | None, office_column) -> list:
    where = [column.isnot(None)]
    if first is not None:
        where.append(column >= first.isoformat())
    if last is not None:
        where.append(column <= last.isoformat())
    if office_id is not None:
        where.append(office_column == office_id)
    return where


class SqlSteeringReader:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def _all(self, statement) -> list:
        async with self.engine.connect() as conn:
            return list((await conn.execute(statement)).all())

    async def visits(self, first: date | None, last: date | None, office_id: str | None = None) -> list[VisitRow]:
        statement = (
            select(V.visit_id, V.office_id, V.service_day, V.wait_seconds,
                   func.coalesce(F.service_seconds, V.service_seconds), V.ended_at.isnot(None),
                   V.question_count, V.satisfaction_treatment, V.satisfaction_time,
                   V.satisfaction_got_help, E.estimated_wait_minutes)
            .select_from(ReportingVisit.__table__
                         .outerjoin(ReportingVisitFlow.__table__, F.visit_id == V.visit_id)
                         .outerjoin(ReportingWaitEstimate.__table__, E.visit_id == V.visit_id))
            .where(*_span(V.service_day, first, last, office_id, V.office_id), V.office_id.isnot(None))
        )
        return [VisitRow(r[0], r[1], r[2], r[3], r[4], bool(r[5]), r[6] or 0, r[7], r[8],
                         None if r[9] is None else bool(r[9]), r[10]) for r in await self._all(statement)]

    async def questions(self, first: date | None, last: date | None, office_id: str | None = None) -> list[QuestionRow]:
        statement = (
            select(Q.question_id, Q.visit_id, Q.office_id, Q.service_day, Q.recorded_at, Q.level,
                   Q.agency, Q.case_type, Q.outcome, Q.forwarded_at, D.decided_at, L.person_pseudonym)
            .select_from(ReportingQuestion.__table__
                         .outerjoin(ReportingPersonLink.__table__, L.question_id == Q.question_id)
                         .outerjoin(ReportingAgencyDecision.__table__, D.question_id == Q.question_id))
            .where(*_span(Q.service_day, first, last, office_id, Q.office_id), Q.office_id.isnot(None))
        )
        return [QuestionRow(r[0], r[1], r[2], r[3], as_utc(r[4]), r[5], r[6], r[7], r[8],
                            as_utc(r[9]), as_utc(r[10]), r[11]) for r in await self._all(statement)]

    async def sessions(self, first: date | None, last: date | None, office_id: str | None = None) -> list[SessionRow]:
        statement = select(S.office_id, S.service_day, S.staffed_seconds).where(
            *_span(S.service_day, first, last, office_id, S.office_id))
        return [SessionRow(*r) for r in await self._all(statement)]

    async def hourly(self, office_id: str) -> dict[tuple[date, int], float]:
        """Visits per local day and hour of registration."""
        statement = (select(V.service_day, V.registered_hour, func.count())
                     .where(V.office_id == office_id, V.service_day.isnot(None), V.registered_hour.isnot(None))
                     .group_by(V.service_day, V.registered_hour))
        return {(date.fromisoformat(d), h): float(n) for d, h, n in await self._all(statement)}

    async def service_minutes(self, office_id: str, since: date) -> tuple[float | None, int]:
        """Mean time a visit spent at desks (its steps), and how many visits measured it."""
        statement = select(func.avg(F.service_seconds), func.count(F.service_seconds)).where(
            F.office_id == office_id, F.service_day >= since.isoformat())
        [(mean, n)] = await self._all(statement)
        return (None if mean is None else float(mean) / 60), int(n)

    async def days(self) -> list[str]:
        """The first and last service day with a visit."""
        statement = select(func.min(V.service_day), func.max(V.service_day))
        [(first, last)] = await self._all(statement)
        return [d for d in (first, last) if d]
