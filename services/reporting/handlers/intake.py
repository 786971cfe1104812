"""Handlers for intake's events: the visit's times, satisfaction, and where and when each
question was asked. ``text`` and the identity number are deliberately never read."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from services.intake.domain.events import (
    QuestionRecorded,
    QuestionResolved,
    VisitCalled,
    VisitEnded,
    VisitRegistered,
)
from services.reporting.domain.model import earliest, local_day
from services.reporting.handlers.common import load_question, load_visit, save_question
from services.reporting.unit_of_work import SqlReportingUnitOfWork as ReportingUnitOfWork
from shared.events import EventEnvelope


async def visit_registered(
    event: VisitRegistered, _: EventEnvelope, uow: ReportingUnitOfWork, tz: ZoneInfo
) -> None:
    visit = await load_visit(uow, event.visit_id)
    visit.office_id, visit.channel, visit.agency_hint = event.office_id, event.channel, event.agency
    visit.registered_at = event.registered_at
    visit.service_day = local_day(event.registered_at, tz)
    visit.update_durations()
    await uow.reports.save_visit(visit)


async def visit_called(event: VisitCalled, _: EventEnvelope, uow: ReportingUnitOfWork) -> None:
    visit = await load_visit(uow, event.visit_id)
    visit.called_at = earliest(visit.called_at, event.called_at)
    visit.update_durations()
    await uow.reports.save_visit(visit)


async def visit_ended(event: VisitEnded, _: EventEnvelope, uow: ReportingUnitOfWork) -> None:
    visit = await load_visit(uow, event.visit_id)
    visit.ended_at = event.ended_at
    if event.satisfaction is not None:
        visit.satisfaction_treatment = event.satisfaction.treatment
        visit.satisfaction_time = event.satisfaction.time
        visit.satisfaction_got_help = event.satisfaction.got_help
    visit.update_durations()
    await uow.reports.save_visit(visit)


async def question_recorded(
    event: QuestionRecorded, _: EventEnvelope, uow: ReportingUnitOfWork, tz: ZoneInfo
) -> None:
    """Intake owns where and when a question was asked: its office and day overwrite what
    an earlier-arriving routing event filled in."""
    question, new = await load_question(uow, event.visit_id, event.question_id)
    question.office_id = event.office_id
    question.service_day = local_day(event.recorded_at, tz)
    question.recorded_at = event.recorded_at
    question.hint_agency, question.hint_case_type = event.agency, event.case_type
    await save_question(uow, question, new)


async def question_resolved(
    event: QuestionResolved, _: EventEnvelope, uow: ReportingUnitOfWork
) -> None:
    question, new = await load_question(uow, event.visit_id, event.question_id)
    question.outcome = event.outcome
    await save_question(uow, question, new)
