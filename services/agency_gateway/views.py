"""Read-side queries behind the API (no events, no commits)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from services.agency_gateway.adapters.tables import DeliveryRow
from services.agency_gateway.domain.model import Delivery
from services.agency_gateway.unit_of_work import GatewayUnitOfWork
from shared.errors import NotFound
from shared.events import EventEnvelope

_IDS = {"visit_id", "question_id", "agency"}


@dataclass(frozen=True)
class DeliveryView:
    row: DeliveryRow
    delivery: Delivery
    history: list[dict[str, Any]]

    def fields(self) -> dict[str, Any]:
        s = self.delivery.state
        return {
            **self.row.model_dump(exclude={"case_payload"}),
            "agency_status": s.agency_status,
            "agency_status_at": s.agency_status_at,
            "replays": s.replays,
            "history": self.history,
        }

    def held_fields(self) -> list[str]:
        return sorted(json.loads(self.row.case_payload)) if self.row.case_payload else []


def history_entry(envelope: EventEnvelope) -> dict[str, Any]:
    details = {k: v for k, v in envelope.payload.items() if k not in _IDS}
    return {
        "event": envelope.event_type.split(".", 1)[-1],
        "at": envelope.occurred_at,
        "details": details,
    }


async def delivery(question_id: str, uow: GatewayUnitOfWork) -> DeliveryRow:
    async with uow:
        row = await uow.deliveries.get(question_id)
    if row is None:
        raise NotFound(f"no delivery for question {question_id}")
    return row


async def delivery_view(question_id: str, uow: GatewayUnitOfWork) -> DeliveryView:
    """The row, the aggregate and its history (the agency's reports included)."""
    async with uow:
        row = await uow.deliveries.get(question_id)
        envelopes = await uow.events.load(question_id)
    if row is None or not envelopes:
        raise NotFound(f"no delivery for question {question_id}")
    aggregate = Delivery.rehydrate(question_id, [e.event() for e in envelopes])
    return DeliveryView(row, aggregate, [history_entry(e) for e in envelopes])


async def deliveries(
    uow: GatewayUnitOfWork, status: str | None, agency: str | None, limit: int
) -> tuple[list[DeliveryRow], int]:
    async with uow:
        return await uow.deliveries.find(status, agency, limit)
