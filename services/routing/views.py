"""Routing's reads: a question's decision, rehydrated from its events (the override
handler loads it the same way before changing it)."""

from __future__ import annotations

from services.routing.domain.model import Decision
from services.routing.unit_of_work import SqlRoutingUnitOfWork
from shared.errors import NotFound


async def load_decision(uow: SqlRoutingUnitOfWork, question_id: str) -> Decision:
    """Inside an open unit of work."""
    envelopes = await uow.events.load(question_id)
    if not envelopes:
        raise NotFound(f"no decision for question {question_id} (yet)")
    return Decision.rehydrate(question_id, [e.event() for e in envelopes])


async def get_decision(question_id: str, uow: SqlRoutingUnitOfWork) -> Decision:
    async with uow:
        return await load_decision(uow, question_id)
