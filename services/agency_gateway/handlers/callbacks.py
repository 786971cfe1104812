"""Agencies' status callbacks (already authenticated by the API) become
``AgencyCaseUpdated`` on the case's delivery stream, at most once per callback id."""

from __future__ import annotations

from collections.abc import Callable
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

    def update(delivery: Delivery, received: datetime) -> None:
        delivery.agency_update(
            AgencyCaseUpdated(
                visit_id=delivery.state.visit_id,
                question_id=command.case_id,
                agency=command.agency,
                agency_reference=command.reference,
                status=command.status,
                note=scrubbed(command.note),
                callback_id=command.callback_id,
                agency_updated_at=command.occurred_at,
                received_at=received,
            )
        )

    applied = await apply_callback(uow, command.agency, command.callback_id, command.case_id, update, now)
    if applied:
        log.info("agency_case_updated", question_id=command.case_id, agency=command.agency, status=command.status)
    return applied


def scrubbed(note: str | None) -> str | None:
    return scrub_text(note)[:NOTE_CHARS] if note else None


async def apply_callback(
    uow: GatewayUnitOfWork,
    agency: str,
    callback_id: str,
    stream_id: str,
    update: Callable[[Delivery, datetime], None],
    now: datetime | None = None,
) -> bool:
    """``update`` the delivery ``stream_id`` of ``agency`` with one callback, recording
    its receipt in the same transaction; False if this callback id was applied before.
    Another agency's delivery is answered like an unknown one: nothing leaks."""
    async with uow:
        if await uow.callbacks.seen(agency, callback_id):
            return False
        envelopes = await uow.events.load(stream_id)
        delivery = Delivery.rehydrate(stream_id, [e.event() for e in envelopes])
        if not envelopes or delivery.state.agency != agency:
            raise NotFound(f"agency {agency} has no case {stream_id}")
        received = now or utc_now()
        update(delivery, received)
        uow.callbacks.add(agency, callback_id, stream_id, received)
        uow.save(delivery, cause=envelopes[-1])
        try:
            await uow.commit()
        except IntegrityError:  # the same callback id, applied by a concurrent request
            return False
    return True
