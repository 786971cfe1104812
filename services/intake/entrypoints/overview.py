"""``GET /v1/visits/{visit_id}/overview``: one view of the visitor for the desk. The visit
comes from intake's event store, each question's decision and delivery from the overview
read model in intake's own database (``domain/overview.py``), its bookings from the
booking index (``intake_bookings``): no call to another service per request."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel

from services.intake.adapters.overview_tables import SqlVisitOverview
from services.intake.entrypoints.booking_schemas import BookingLine
from services.intake.entrypoints.schemas import VisitPublic
from services.intake.handlers import visits
from services.intake.unit_of_work import SqlIntakeUnitOfWork
from services.intake.views import decision_public, delivery_public, visit_bookings
from shared.security import needs

router = APIRouter(tags=["intake"])


class DecisionPublic(BaseModel):
    level: Literal["general", "in_depth", "complex"]
    agency: str
    case_type: str
    confidence: float
    explanation: str
    destination: str
    destination_reason: str
    needs_review: bool
    overridden: bool


class AgencyStatusPublic(BaseModel):
    status: Literal["received", "in_progress", "decided", "closed"]
    note: str | None
    updated_at: datetime


class DeliveryPublic(BaseModel):
    status: Literal["pending", "delivered", "failed", "dead_lettered"]
    attempts: int
    agency: str
    agency_reference: str | None
    agency_status: AgencyStatusPublic | None


class QuestionOverview(BaseModel):
    question_id: str
    text: str  # scrubbed when it was recorded
    recorded_at: datetime
    outcome: str | None
    decision: DecisionPublic | None  # None until routing has classified it
    delivery: DeliveryPublic | None  # None unless the case was sent to its agency


class VisitOverview(VisitPublic):
    """The visit as ``GET /v1/visits/{visit_id}`` gives it, its questions with more, and
    its bookings (made for its questions, or whose check-in made the visit) by time."""

    questions: list[QuestionOverview]  # type: ignore[assignment]
    bookings: list[BookingLine]


async def _uow_factory(request: Request) -> Callable[[], SqlIntakeUnitOfWork]:
    return request.app.state.runtime.uow_factory


@router.get("/visits/{visit_id}/overview", response_model=VisitOverview, dependencies=needs("visits:read"))
async def visit_overview(
    visit_id: str, uow_factory: Annotated[Callable[[], SqlIntakeUnitOfWork], Depends(_uow_factory)]
) -> VisitOverview:
    # api.py includes this router, so its ``to_public`` is imported when first needed.
    from services.intake.entrypoints.api import to_public

    visit = await visits.get_visit(visit_id, uow_factory())  # 404 for an unknown visit
    async with uow_factory() as uow:
        decisions, deliveries = await SqlVisitOverview.of(uow).of_visit(visit_id)
        bookings = await visit_bookings(uow, visit_id)  # one query, whatever the questions
    public = to_public(visit).model_dump(exclude={"questions"})
    questions = [
        QuestionOverview(
            question_id=q.question_id,
            text=q.text,
            recorded_at=q.recorded_at,
            outcome=q.outcome,
            decision=decision_public(decisions.get(q.question_id)),
            delivery=delivery_public(decisions.get(q.question_id), deliveries.get(q.question_id)),
        )
        for q in visit.state.questions.values()
    ]
    return VisitOverview(**public, questions=questions, bookings=[BookingLine(**b) for b in bookings])
