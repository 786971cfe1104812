"""Upsert helpers every reporting handler uses."""

from __future__ import annotations

from services.reporting.domain.model import QuestionRecord, VisitRecord
from services.reporting.unit_of_work import SqlReportingUnitOfWork as ReportingUnitOfWork


async def load_visit(uow: ReportingUnitOfWork, visit_id: str) -> VisitRecord:
    """The visit's record, or a new empty one when no event has named the visit yet."""
    return await uow.reports.get_visit(visit_id) or VisitRecord(visit_id=visit_id)


async def load_question(
    uow: ReportingUnitOfWork, visit_id: str, question_id: str
) -> tuple[QuestionRecord, bool]:
    """The question's record and whether it is new (not yet in the store)."""
    found = await uow.reports.get_question(question_id)
    if found is not None:
        return found, False
    return QuestionRecord(question_id=question_id, visit_id=visit_id), True


async def save_question(uow: ReportingUnitOfWork, question: QuestionRecord, new: bool) -> None:
    """Save; when the row is new, recount the visit's questions (a count, so a repeated
    event can never add one twice)."""
    await uow.reports.save_question(question)
    if new:
        visit = await load_visit(uow, question.visit_id)
        visit.office_id = visit.office_id or question.office_id
        visit.question_count = await uow.reports.count_questions(question.visit_id)
        await uow.reports.save_visit(visit)
