"""Read-side queries behind the API (no events, no commits)."""

from __future__ import annotations

from services.agency_gateway.adapters.tables import DeliveryRow
from services.agency_gateway.unit_of_work import GatewayUnitOfWork
from shared.errors import NotFound


async def delivery(question_id: str, uow: GatewayUnitOfWork) -> DeliveryRow:
    async with uow:
        row = await uow.deliveries.get(question_id)
    if row is None:
        raise NotFound(f"no delivery for question {question_id}")
    return row


async def deliveries(
    uow: GatewayUnitOfWork, status: str | None, agency: str | None, limit: int
) -> tuple[list[DeliveryRow], int]:
    async with uow:
        return await uow.deliveries.find(status, agency, limit)
