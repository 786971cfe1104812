"""Handlers for routing's events: level, agency, case type, destination, overrides."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from services.reporting.domain.model import as_utc, local_day
from services.reporting.handlers.common import load_question, save_question
from services.reporting.unit_of_work import SqlReportingUnitOfWork as ReportingUnitOfWork
from services.routing.domain.events import (
    CaseRoutedToAgency,
    ClassificationOverridden,
    QuestionClassified,
)
from shared.events import EventEnvelope


async def question_classified(
    event: QuestionClassified, _: EventEnvelope, uow: ReportingUnitOfWork, tz: ZoneInfo
) -> None:
    """A handler's override stands: a later (re)classification does not replace it."""
    question, new = await load_question(uow, event.visit_id, event.question_id)
    question.place(event.office_id, local_day(event.classified_at, tz))
    if not question.overridden:
        question.level, question.agency, question.case_type = (
            event.level,
            event.agency,
            event.case_type,
        )
        question.destination = event.destination
    question.confidence, question.needs_review = event.confidence, event.needs_review
    await save_question(uow, question, new)


async def classification_overridden(
    event: ClassificationOverridden, _: EventEnvelope, uow: ReportingUnitOfWork, tz: ZoneInfo
) -> None:
    question, new = await load_question(uow, event.visit_id, event.question_id)
    question.place(event.office_id, local_day(event.overridden_at, tz))
    question.level, question.agency, question.case_type = event.level, event.agency, event.case_type
    question.destination, question.overridden = event.destination, True
    await save_question(uow, question, new)


async def case_routed_to_agency(
    event: CaseRoutedToAgency, _: EventEnvelope, uow: ReportingUnitOfWork, tz: ZoneInfo
) -> None:
    """``text`` and the identity number are deliberately never read."""
    question, new = await load_question(uow, event.visit_id, event.question_id)
    question.place(event.office_id, local_day(event.routed_at, tz))
    question.agency = question.agency or event.agency
    question.case_type = question.case_type or event.case_type
    question.destination = event.destination
    question.routed_at = as_utc(event.routed_at)
    await save_question(uow, question, new)
