"""Handlers for agency_gateway's events: delivery status, attempts, agency reference."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from services.agency_gateway.domain.events import (
    CaseDeadLettered,
    CaseForwarded,
    CaseForwardingFailed,
    CaseQueuedForDelivery,
)
from services.reporting.domain.model import as_utc, local_day, next_delivery_status
from services.reporting.handlers.common import load_question, save_question
from services.reporting.unit_of_work import SqlReportingUnitOfWork as ReportingUnitOfWork
from shared.events import EventEnvelope


async def case_queued(
    event: CaseQueuedForDelivery, _: EventEnvelope, uow: ReportingUnitOfWork, tz: ZoneInfo
) -> None:
    question, new = await load_question(uow, event.visit_id, event.question_id)
    question.place(event.office_id, local_day(event.queued_at, tz))
    question.agency = question.agency or event.agency
    question.case_type = question.case_type or event.case_type
    question.delivery_status = next_delivery_status(question.delivery_status, "pending")
    await save_question(uow, question, new)


async def case_forwarded(event: CaseForwarded, _: EventEnvelope, uow: ReportingUnitOfWork) -> None:
    question, new = await load_question(uow, event.visit_id, event.question_id)
    question.delivery_status = "delivered"
    question.delivery_attempts = max(question.delivery_attempts, event.attempt)
    question.agency_reference = event.agency_reference
    question.forwarded_at = as_utc(event.forwarded_at)
    await save_question(uow, question, new)


async def case_forwarding_failed(
    event: CaseForwardingFailed, _: EventEnvelope, uow: ReportingUnitOfWork
) -> None:
    question, new = await load_question(uow, event.visit_id, event.question_id)
    question.delivery_status = next_delivery_status(question.delivery_status, "failed")
    question.delivery_attempts = max(question.delivery_attempts, event.attempt)
    await save_question(uow, question, new)


async def case_dead_lettered(
    event: CaseDeadLettered, _: EventEnvelope, uow: ReportingUnitOfWork
) -> None:
    question, new = await load_question(uow, event.visit_id, event.question_id)
    question.delivery_status = next_delivery_status(question.delivery_status, "dead_lettered")
    question.delivery_attempts = max(question.delivery_attempts, event.attempt)
    await save_question(uow, question, new)
