"""Delivery: plain async functions ``(message, uow, **deps)``.

``queue_case`` is the consumer handler for ``routing.CaseRoutedToAgency``; ``claim_due``
and ``record_outcome`` are the two short transactions around each HTTP call the
delivery worker makes (it never holds a database session open while it waits).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog

from services.agency_gateway.adapters.tables import DeliveryRow
from services.agency_gateway.domain.events import CaseQueuedForDelivery
from services.agency_gateway.domain.model import OPEN, Delivery
from services.agency_gateway.domain.outcomes import Outcome, RetryPolicy
from services.agency_gateway.unit_of_work import GatewayUnitOfWork
from shared import tracing
from shared.contracts.routing import CaseRoutedToAgency
from shared.errors import NotFound
from shared.events import EventEnvelope, utc_now
from shared.handlers import retry_on_conflict

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Claimed:
    """A delivery taken by this worker until its lease runs out."""

    question_id: str
    agency: str
    case: dict[str, Any]
    trace: dict[str, str] | None = None
    kind: str = "case"


def case_of(event: CaseRoutedToAgency) -> dict[str, Any]:
    """The body the agency receives. The only copy of text and identity number."""
    return {
        "case_id": event.question_id,
        "visit_id": event.visit_id,
        "office_id": event.office_id,
        "agency": event.agency,
        "case_type": event.case_type,
        "text": event.text,
        "personal_identity_number": event.personal_identity_number,
        "destination": event.destination,
        "routed_at": event.routed_at.isoformat(),
    }


async def queue_case(
    event: CaseRoutedToAgency,
    envelope: EventEnvelope,
    uow: GatewayUnitOfWork,
    wake: Callable[[], None] | None = None,
) -> None:
    """Insert the delivery and record ``CaseQueuedForDelivery`` in the consumer's unit of
    work (with its inbox row and position). A question already queued is left alone,
    so a re-sent routing event never makes a second case. ``wake`` runs after commit:
    waking the worker earlier would let it look before the row is there."""
    if await uow.deliveries.get(event.question_id) is not None:
        log.info("case_already_queued", question_id=event.question_id, agency=event.agency)
        return
    now = utc_now()
    queued = CaseQueuedForDelivery(
        visit_id=event.visit_id,
        question_id=event.question_id,
        office_id=event.office_id,
        agency=event.agency,
        case_type=event.case_type,
        queued_at=now,
    )
    uow.deliveries.add(
        DeliveryRow(
            **queued.model_dump(exclude={"queued_at"}),
            queued_at=now,
            next_attempt_at=now,
            case_payload=json.dumps(case_of(event), ensure_ascii=False),
            trace=trace_json(envelope),
        )
    )
    uow.save(Delivery.queue(queued), cause=envelope)
    if wake is not None:
        uow.after_commit(wake)


def trace_json(envelope: EventEnvelope) -> str | None:
    """The context the agency call will run under: the consumer's span (a child of the
    event's own trace) when tracing is on, else whatever the event carried."""
    trace = tracing.current_trace() or envelope.trace
    return json.dumps(trace) if trace else None


async def claim_due(
    uow: GatewayUnitOfWork,
    now: datetime,
    lease: timedelta,
    limit: int,
    room: Callable[[str], int],
    blocked: Collection[str] = (),
    in_flight: Collection[str] = (),
) -> list[Claimed]:
    """Take up to ``limit`` due deliveries, at most ``room(agency)`` of each agency, none
    of a ``blocked`` one (full, or its circuit breaker open), and move their next attempt
    to the end of the lease: if this process dies mid-call, another worker (or this one
    restarted) resumes them after the lease with the same Idempotency-Key. Deliveries
    still ``in_flight`` here (a lease outlived by a slow commit) are not taken twice."""
    taken: Counter[str] = Counter()
    picked: list[DeliveryRow] = []
    async with uow:
        # Look further than ``limit``: one agency's backlog must not hide the others.
        for row in await uow.deliveries.due(now, min(500, limit * 4), blocked):
            if len(picked) >= limit:
                break
            if taken[row.agency] >= room(row.agency) or row.question_id in in_flight:
                continue
            taken[row.agency] += 1
            picked.append(row)
        if not picked:
            return []
        # One statement and one lease for the batch; only what it moved is ours.
        leased = await uow.deliveries.lease([r.question_id for r in picked], now, now + lease)
        await uow.commit()
    return [
        Claimed(
            row.question_id,
            row.agency,
            json.loads(row.case_payload or "{}"),
            json.loads(row.trace) if row.trace else None,
            row.kind or "case",
        )
        for row in picked
        if row.question_id in leased
    ]


@retry_on_conflict
async def record_outcome(
    question_id: str,
    outcome: Outcome,
    uow: GatewayUnitOfWork,
    policy: RetryPolicy,
    rand: Callable[[], float],
    now: datetime | None = None,
) -> Delivery:
    """Record one attempt's outcome as events and in the delivery row, in one commit."""
    async with uow:
        envelopes = await uow.events.load(question_id)
        row = await uow.deliveries.get(question_id)
        if not envelopes or row is None:
            raise NotFound(f"no delivery {question_id}")
        delivery = Delivery.rehydrate(question_id, [e.event() for e in envelopes])
        if delivery.is_final:  # another worker recorded an outcome first
            return delivery
        delivery.record(outcome, now or utc_now(), policy, rand())
        sync_row(row, delivery)
        uow.deliveries.add(row)
        uow.save(delivery, cause=envelopes[-1])
        await uow.commit()
    _log_recorded(delivery)
    return delivery


async def hand_back(question_ids: Collection[str], uow: GatewayUnitOfWork, now: datetime) -> list[str]:
    """Deliveries whose call this worker cut off as it stopped: due again now rather than
    when their lease ends, so whoever runs next (this process restarted, or another
    replica) sends them at once, with the same Idempotency-Key. Only rows still open
    and still leased (not due yet) are touched; the ones handed back are answered."""
    if not question_ids:
        return []
    handed: list[str] = []
    async with uow:
        rows = await uow.deliveries.get_many(question_ids)
        for question_id, row in rows.items():
            if row.status in OPEN and row.next_attempt_at is not None and row.next_attempt_at > now:
                row.next_attempt_at = now
                uow.deliveries.add(row)
                handed.append(question_id)
        await uow.commit()
    if handed:
        log.info("deliveries_handed_back", count=len(handed))
    return handed


def _log_recorded(delivery: Delivery) -> None:
    s = delivery.state
    log.info(
        f"delivery_{s.status}",
        question_id=delivery.id,
        agency=s.agency,
        attempt=s.attempts,
        error=s.last_error if s.status != "delivered" else None,
        retry_at=s.retry_at.isoformat() if s.retry_at else None,
    )


def sync_row(row: DeliveryRow, delivery: Delivery) -> None:
    """The row follows the aggregate. Once delivered, the text and identity number are
    erased: the agency has them, and the gateway keeps no personal data it no longer
    needs. Dead-lettered cases keep them for a replay."""
    s = delivery.state
    row.status, row.attempts = s.status, s.attempts
    row.agency_reference, row.last_error = s.agency_reference, s.last_error
    row.next_attempt_at, row.delivered_at = s.retry_at, s.delivered_at
    if s.status == "delivered":
        row.case_payload = None
