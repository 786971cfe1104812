"""Intake's routes: validate, build a command, call the handler, shape the answer.

Every POST that records something takes an ``Idempotency-Key`` (shared/idempotency.py):
the route hands the handler ``once.recorder(answer)``, and the answer is stored with the
events, so a retry with the key gets it again and records nothing (docs/office-day.md)."""

from __future__ import annotations

from fastapi import APIRouter

from services.intake.domain.commands import (
    CallVisit,
    EndVisit,
    RecordQuestion,
    RegisterVisit,
    ResolveQuestion,
)
from services.intake.domain.events import QuestionRecorded, Satisfaction
from services.intake.domain.model import Visit
from services.intake.entrypoints import bookings, erasure, office_day, overview
from services.intake.entrypoints.deps import DepsDep, UowDep
from services.intake.entrypoints.schemas import (
    Ack,
    CallCreate,
    QuestionCreate,
    QuestionCreated,
    QuestionPublic,
    ResolutionCreate,
    VisitCreate,
    VisitCreated,
    VisitEnd,
    VisitPublic,
)
from services.intake.handlers import queue, visits
from services.intake.handlers.queue import Ticket
from shared.idempotency import IdempotencyDep, IdempotentRoute
from shared.security import needs

router = APIRouter(prefix="/v1", tags=["intake"], route_class=IdempotentRoute)
router.include_router(erasure.router)  # DELETE /v1/visits/{visit_id}/personal-data
router.include_router(office_day.router)  # offices, desks, call-next, the live queue
router.include_router(overview.router)  # GET /v1/visits/{visit_id}/overview
router.include_router(bookings.router)  # slots, video rooms, bookings, check-in (docs/bookings.md)


@router.post("/visits", status_code=201, response_model=VisitCreated, dependencies=needs("visits:write"))
async def register_visit(
    body: VisitCreate, uow: UowDep, deps: DepsDep, once: IdempotencyDep
) -> VisitCreated:
    """A ticket in ``queue`` (default: general), with the visitor's place and estimated
    wait; an unknown office or a queue the office does not offer is a 422."""
    cmd = RegisterVisit(body.office_id, body.channel, body.agency, body.queue)
    record = once.recorder(visit_created)
    ticket = await queue.take_ticket(cmd, uow, deps.catalog, deps.office_day, record)
    return visit_created(ticket)


def visit_created(ticket: Ticket) -> VisitCreated:
    s = ticket.visit.state
    return VisitCreated(
        visit_id=ticket.visit.id, ticket=s.ticket, queue=s.queue, position=ticket.position,
        estimated_wait_minutes=s.estimated_wait_minutes,  # the one recorded in the event
        registered_at=s.registered_at,
    )


@router.post("/visits/{visit_id}/call", response_model=Ack, dependencies=needs("visits:call"))
async def call_visit(visit_id: str, body: CallCreate, uow: UowDep, once: IdempotencyDep) -> Ack:
    answer = Ack(visit_id=visit_id, status="called")
    await visits.call_visit(CallVisit(visit_id, body.desk), uow, once.recorder(answer))
    return answer


@router.post(
    "/visits/{visit_id}/questions",
    status_code=201,
    response_model=QuestionCreated,
    dependencies=needs("questions:write"),
)
async def record_question(
    visit_id: str, body: QuestionCreate, uow: UowDep, deps: DepsDep, once: IdempotencyDep
) -> QuestionCreated:
    """409 ``personal_data_erased`` for an identity number on a visit whose personal data
    was erased (docs/security.md)."""
    cmd = RecordQuestion(
        visit_id, body.text, body.agency, body.case_type, body.personal_identity_number
    )
    event = await visits.record_question(
        cmd, uow, deps.catalog, deps.vault, deps.pseudonyms, record=once.recorder(question_created),
    )
    return question_created(event)


def question_created(event: QuestionRecorded) -> QuestionCreated:
    return QuestionCreated(question_id=event.question_id, visit_id=event.visit_id)


@router.post(
    "/questions/{question_id}/resolution", response_model=Ack, dependencies=needs("questions:resolve")
)
async def resolve_question(question_id: str, body: ResolutionCreate, uow: UowDep, once: IdempotencyDep) -> Ack:
    def resolved(visit: Visit) -> Ack:
        return Ack(visit_id=visit.id, status=f"question {body.outcome}")

    cmd = ResolveQuestion(question_id, body.outcome, body.note)
    return resolved(await visits.resolve_question(cmd, uow, once.recorder(resolved)))


@router.post("/visits/{visit_id}/end", response_model=Ack, dependencies=needs("visits:write"))
async def end_visit(visit_id: str, body: VisitEnd, uow: UowDep, once: IdempotencyDep) -> Ack:
    satisfaction = Satisfaction(**body.satisfaction.model_dump()) if body.satisfaction else None
    answer = Ack(visit_id=visit_id, status="ended")
    await visits.end_visit(EndVisit(visit_id, satisfaction), uow, once.recorder(answer))
    return answer


@router.get("/visits/{visit_id}", response_model=VisitPublic, dependencies=needs("visits:read"))
async def get_visit(visit_id: str, uow: UowDep) -> VisitPublic:
    return to_public(await visits.get_visit(visit_id, uow))


def to_public(visit: Visit) -> VisitPublic:
    s = visit.state
    return VisitPublic(
        visit_id=visit.id,
        office_id=s.office_id,
        channel=s.channel,
        agency=s.agency,
        ticket=s.ticket,
        queue=s.queue,
        status=s.status,
        service_day=s.service_day,
        registered_at=s.registered_at,
        desk=s.desk,
        called_at=s.called_at,
        ended_at=s.ended_at,
        satisfaction=s.satisfaction.model_dump() if s.satisfaction else None,
        questions=[
            QuestionPublic(
                question_id=q.question_id,
                text=q.text,
                agency=q.agency,
                case_type=q.case_type,
                has_personal_identity_number=q.has_personal_identity_number,
                recorded_at=q.recorded_at,
                outcome=q.outcome,
                resolved_at=q.resolved_at,
            )
            for q in s.questions.values()
        ],
    )
