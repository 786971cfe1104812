"""Routing's routes: the decision read model and the handler's override (which takes an
``Idempotency-Key``: a retried override records one revision, shared/idempotency.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, StringConstraints

from services.routing import views
from services.routing.domain.commands import OverrideClassification
from services.routing.domain.model import Decision
from services.routing.entrypoints.deps import DepsDep, UowDep
from services.routing.handlers import decisions
from services.routing.unit_of_work import SqlRoutingUnitOfWork
from shared.auth import Principal
from shared.idempotency import IdempotencyDep, IdempotentRoute
from shared.security import needs, require

router = APIRouter(prefix="/v1", tags=["routing"], route_class=IdempotentRoute)

Code = Annotated[str, StringConstraints(pattern=r"^[a-z_]{2,40}$")]


class OverrideCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    level: Literal["general", "in_depth", "complex"]
    agency: Code | None = None
    case_type: Code | None = None
    reason: Annotated[str, StringConstraints(min_length=1, max_length=500, strip_whitespace=True)]
    handler: Annotated[str, StringConstraints(min_length=1, max_length=80, strip_whitespace=True)]


class DecisionPublic(BaseModel):
    question_id: str
    level: str
    agency: str
    case_type: str
    confidence: float
    explanation: str
    destination: str
    destination_reason: str
    overridden: bool
    needs_review: bool
    routed_to_agency: bool
    model_version: str
    decided_at: datetime | None


@router.get(
    "/questions/{question_id}/decision", response_model=DecisionPublic, dependencies=needs("decisions:read")
)
async def get_decision(question_id: str, uow: UowDep) -> DecisionPublic:
    return to_public(await views.get_decision(question_id, uow))


@router.post("/questions/{question_id}/override", response_model=DecisionPublic)
async def override(
    question_id: str,
    body: OverrideCreate,
    uow: UowDep,
    deps: DepsDep,
    principal: Annotated[Principal, Depends(require("decisions:override"))],
    once: IdempotencyDep,
) -> DecisionPublic:
    cmd = OverrideClassification(
        question_id, body.level, body.agency, body.case_type, body.reason, body.handler,
        actor=principal.subject,
    )

    async def overridden(uow: SqlRoutingUnitOfWork) -> DecisionPublic:  # the decision as committed
        return to_public(await views.load_decision(uow, question_id))

    uow = once.bind(uow, overridden)
    decision = await decisions.override_classification(cmd, uow, deps.catalog, deps.router)
    return to_public(decision)


def to_public(decision: Decision) -> DecisionPublic:
    s = decision.state
    return DecisionPublic(
        question_id=decision.id,
        level=s.level,
        agency=s.agency,
        case_type=s.case_type,
        confidence=s.confidence,
        explanation=s.explanation,
        destination=s.destination,
        destination_reason=s.destination_reason,
        overridden=s.overridden,
        needs_review=s.needs_review,
        routed_to_agency=s.routed,
        model_version=s.model_version,
        decided_at=s.decided_at,
    )
