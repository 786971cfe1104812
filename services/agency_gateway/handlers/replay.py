"""Dead letters sent on their way again by a person, each replay its own event."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import structlog

from services.agency_gateway.domain.commands import ReplayDeadLetter, ReplayDeadLetters
from services.agency_gateway.domain.model import Delivery
from services.agency_gateway.handlers.delivery import sync_row
from services.agency_gateway.unit_of_work import GatewayUnitOfWork
from shared.errors import Conflict, NotFound
from shared.events import utc_now
from shared.handlers import retry_on_conflict

log = structlog.get_logger(__name__)


@retry_on_conflict
async def replay_dead_letter(
    command: ReplayDeadLetter,
    uow: GatewayUnitOfWork,
    wake: Callable[[], None] | None = None,
    now: datetime | None = None,
) -> Delivery:
    """``DeadLetterReplayed`` and the row due now, in one commit; the worker is woken
    after it. The same Idempotency-Key is used, so a case the agency did get after all is
    answered 409 and recorded delivered, not doubled."""
    async with uow:
        envelopes = await uow.events.load(command.question_id)
        row = await uow.deliveries.get(command.question_id)
        if not envelopes or row is None:
            raise NotFound(f"no delivery for question {command.question_id}")
        delivery = Delivery.rehydrate(command.question_id, [e.event() for e in envelopes])
        if delivery.state.status == "dead_lettered" and row.case_payload is None:
            raise Conflict("the case's content is no longer held: it cannot be sent again")
        delivery.replay(command.actor, command.reason, now or utc_now())
        sync_row(row, delivery)
        uow.deliveries.add(row)
        uow.save(delivery, cause=envelopes[-1])
        if wake is not None:
            uow.after_commit(wake)
        await uow.commit()
    log.info(
        "dead_letter_replayed",
        question_id=command.question_id,
        agency=delivery.state.agency,
        actor=command.actor,
    )
    return delivery


async def replay_dead_letters(
    command: ReplayDeadLetters,
    uow_factory: Callable[[], GatewayUnitOfWork],
    wake: Callable[[], None] | None = None,
) -> list[str]:
    """Replay each matching dead letter in its own transaction; return their ids. One
    that changed meanwhile (replayed by someone else) is skipped, not an error."""
    async with uow_factory() as uow:
        rows, _ = await uow.deliveries.find("dead_lettered", command.agency, command.limit)
    replayed: list[str] = []
    for row in rows:
        single = ReplayDeadLetter(row.question_id, command.actor, command.reason)
        try:
            await replay_dead_letter(single, uow_factory(), wake)
        except Conflict:
            continue
        replayed.append(row.question_id)
    return replayed
