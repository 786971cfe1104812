"""The live path: one event at a time, through the fold the replay uses too.

The records the event names are loaded from the store, the fold changes them in memory,
and they are saved in the consumer's transaction (with its inbox row and position). When
a question is new, its visit's question count is recounted (a count, so a repeated event
can never add one twice).
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from services.reporting.domain.fold import Fold
from services.reporting.domain.model import VisitRecord
from services.reporting.unit_of_work import SqlReportingUnitOfWork as ReportingUnitOfWork
from shared.events import DomainEvent, EventEnvelope


async def apply_event(
    event: DomainEvent, envelope: EventEnvelope, uow: ReportingUnitOfWork, tz: ZoneInfo
) -> None:
    # The validated, upcast event in its JSON form: what the replay reads from the log.
    payload = event.model_dump(mode="json")
    visit_id, question_id = payload["visit_id"], payload.get("question_id")
    fold = Fold(tz)
    if question_id is None:
        found = await uow.reports.get_visit(visit_id)
        if found is not None:
            fold.visits[visit_id] = found
        fold.apply(envelope.event_type, payload)
        await uow.reports.save_visit(fold.visit(visit_id))
        return
    existing = await uow.reports.get_question(question_id)
    if existing is not None:
        fold.questions[question_id] = existing
    fold.apply(envelope.event_type, payload)
    question = fold.question(visit_id, question_id)
    await uow.reports.save_question(question)
    if existing is None:
        visit = await uow.reports.get_visit(question.visit_id) or VisitRecord(question.visit_id)
        visit.office_id = visit.office_id or question.office_id
        visit.question_count = await uow.reports.count_questions(question.visit_id)
        await uow.reports.save_visit(visit)
