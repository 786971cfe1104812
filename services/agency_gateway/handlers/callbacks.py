"""Agencies' status callbacks (already authenticated by the API) become
``AgencyCaseUpdated`` on the case's delivery stream, at most once per callback id."""

from __future__ import annotations

from datetime import datetime

import structlog
from sqlalchemy.exc import IntegrityError

from services.agency_gateway.domain.commands import RecordAgencyUpdate
from services.agency_gateway.domain.events import AgencyCaseUpdated
from services.agency_gateway.domain.model import Delivery
from services.agency_gateway.unit_of_work import GatewayUnitOfWork
from shared.errors import NotFound
from shared.events import utc_now
from shared.handlers import retry_on_conflict
from shared.personal_data import scrub_text

log = structlog.get_logger(__name__)
NOTE_CHARS = 500


@retry_on_conflict
async def record_agency_update(
    command: RecordAgencyUpdate, uow: GatewayUnitOfWork, now: datetime | None = None
) -> bool:
    """Record the update; False if this callback id was applied before (a replay)."""
    async with uow:
        if await uow.callbacks.seen(command.agency, command.callback_id):
            return False
        envelopes = await uow.events.load(command.case_id)
        delivery = Delivery.rehydrate(command.case_id, [e.event() for e in envelopes])
        if not envelopes or delivery.state.agency != command.agency:
            # Another agency's case is answered like an unknown one: nothing leaks.
            raise NotFound(f"agency {command.agency} has no case {command.case_id}")
        received = now or utc_now()
        note = scrub_text(command.note)[:NOTE_CHARS] if command.note else None
        delivery.agency_update(
            AgencyCaseUpdated(
                visit_id=delivery.state.visit_id,
                question_id=command.case_id,
                agency=command.agency,
                agency_reference=command.reference,
                status=command.status,
                note=note,
                callback_id=command.callback_id,
                agency_updated_at=command.occurred_at,
                received_at=received,
            )
        )
        uow.callbacks.add(command.agency, command.callback_id, command.case_id, received)
        uow.save(delivery, cause=envelopes[-1])
        try:
            await uow.commit()
        except IntegrityError:  # the same callback id, applied by a concurrent request
            return False
    log.info(
        "agency_case_updated",
        question_id=command.case_id,
        agency=command.agency,
        status=command.status,
    )
    return True
