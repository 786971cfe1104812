"""Dead letters: list, inspect, replay one or all. Each replay is a
``DeadLetterReplayed`` event naming the ``actor`` who asked for it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from services.agency_gateway import handlers, views
from services.agency_gateway.domain.commands import ReplayDeadLetter, ReplayDeadLetters
from services.agency_gateway.entrypoints.deps import DepsDep, UowDep
from services.agency_gateway.entrypoints.schemas import (
    DeadLetterDetail,
    DeliveryList,
    DeliveryPublic,
    ReplayAllCreate,
    ReplayCreate,
    Replayed,
)
from shared.auth import Principal
from shared.errors import NotFound
from shared.security import needs, require

router = APIRouter(prefix="/dead-letters", tags=["dead letters"])
# The replay's actor is the token's subject: who replays cannot be claimed in the body.
Replayer = Annotated[Principal, Depends(require("dead_letters:replay"))]


@router.get("", response_model=DeliveryList, dependencies=needs("dead_letters:read"))
async def list_dead_letters(
    uow: UowDep,
    agency: Annotated[str | None, Query(pattern=r"^[a-z_]{2,40}$")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> DeliveryList:
    rows, count = await views.deliveries(uow, "dead_lettered", agency, limit)
    data = [DeliveryPublic.model_validate(r, from_attributes=True) for r in rows]
    return DeliveryList(data=data, count=count)


@router.get("/{question_id}", response_model=DeadLetterDetail, dependencies=needs("dead_letters:read"))
async def inspect_dead_letter(question_id: str, uow: UowDep) -> DeadLetterDetail:
    """Why it failed, every attempt, and which case fields are held for a replay."""
    view = await views.delivery_view(question_id, uow)
    if view.row.status != "dead_lettered":
        raise NotFound(f"question {question_id} is {view.row.status}, not a dead letter")
    return DeadLetterDetail.model_validate({**view.fields(), "held_fields": view.held_fields()})


@router.post("/replay", response_model=Replayed)
async def replay_all(
    body: ReplayAllCreate, request: Request, deps: DepsDep, principal: Replayer
) -> Replayed:
    """Replay every dead letter (of one agency, if given), each as its own event."""
    command = ReplayDeadLetters(principal.subject, body.reason, body.agency, body.limit)
    factory = request.app.state.runtime.uow_factory
    ids = await handlers.replay_dead_letters(command, factory, deps.worker.wake)
    return Replayed(question_ids=ids, count=len(ids), actor=principal.subject)


@router.post("/{question_id}/replay", response_model=Replayed)
async def replay_one(
    question_id: str, body: ReplayCreate, uow: UowDep, deps: DepsDep, principal: Replayer
) -> Replayed:
    """404 if unknown; 409 if the delivery is not dead-lettered (any more)."""
    command = ReplayDeadLetter(question_id, principal.subject, body.reason)
    await handlers.replay_dead_letter(command, uow, deps.worker.wake)
    return Replayed(question_ids=[question_id], count=1, actor=principal.subject)
