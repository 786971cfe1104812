"""The gateway's unit of work: the shared one plus the deliveries and callback-receipt
repositories."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from services.agency_gateway.adapters.callbacks import Callbacks, InMemoryCallbacks, SqlCallbacks
from services.agency_gateway.adapters.repositories import (
    Deliveries,
    InMemoryDeliveries,
    SqlDeliveries,
)
from services.agency_gateway.adapters.tables import DeliveryRow
from shared.unit_of_work import InMemoryState, InMemoryUnitOfWork, SqlUnitOfWork


class SqlGatewayUnitOfWork(SqlUnitOfWork):
    deliveries: Deliveries
    callbacks: Callbacks

    def open_repositories(self, session: AsyncSession) -> None:
        self.deliveries = SqlDeliveries(session)
        self.callbacks = SqlCallbacks(session)


class FakeGatewayUnitOfWork(InMemoryUnitOfWork):
    """In-memory; unlike intake's fake, delivery rows roll back too (each unit of work
    stages its own changes over the shared ``rows``), so a handler that fails leaves no
    half-queued delivery behind."""

    deliveries: InMemoryDeliveries
    callbacks: InMemoryCallbacks

    def __init__(
        self,
        state: InMemoryState | None = None,
        rows: dict[str, DeliveryRow] | None = None,
        receipts: set[tuple[str, str]] | None = None,
    ) -> None:
        super().__init__(state)
        self.deliveries = InMemoryDeliveries(rows if rows is not None else {})
        self.callbacks = InMemoryCallbacks(receipts if receipts is not None else set())

    def fresh(self) -> FakeGatewayUnitOfWork:
        """A new unit of work over the same fake database (the factory for handlers)."""
        return FakeGatewayUnitOfWork(self.state, self.deliveries.rows, self.callbacks.rows)

    async def _commit(self) -> None:
        await super()._commit()
        self.deliveries.flush()
        self.callbacks.flush()

    async def rollback(self) -> None:
        await super().rollback()
        self.deliveries.discard()
        self.callbacks.discard()


GatewayUnitOfWork = SqlGatewayUnitOfWork | FakeGatewayUnitOfWork
