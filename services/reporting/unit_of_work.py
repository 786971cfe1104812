"""Reporting's unit of work: the shared one (inbox, positions) plus the report store."""

from __future__ import annotations

from typing import Self

from sqlmodel.ext.asyncio.session import AsyncSession

from services.reporting.adapters.repositories import (
    InMemoryReports,
    InMemoryReportStore,
    ReportRepository,
    SqlReports,
)
from shared.unit_of_work import InMemoryState, InMemoryUnitOfWork, SqlUnitOfWork


class SqlReportingUnitOfWork(SqlUnitOfWork):
    reports: ReportRepository

    def open_repositories(self, session: AsyncSession) -> None:
        self.reports = SqlReports(session)


class FakeReportingUnitOfWork(InMemoryUnitOfWork):
    """In-memory; report rows, inbox and positions commit and roll back together."""

    def __init__(
        self, state: InMemoryState | None = None, store: InMemoryReportStore | None = None
    ) -> None:
        super().__init__(state)
        self.store = store or InMemoryReportStore()
        self.reports = InMemoryReports(self.store)

    async def __aenter__(self) -> Self:
        await super().__aenter__()
        self.reports = InMemoryReports(self.store)
        return self

    async def _commit(self) -> None:
        await super()._commit()
        self.reports.flush()

    async def rollback(self) -> None:
        await super().rollback()
        self.reports.discard()

    def fresh(self) -> FakeReportingUnitOfWork:
        """A new unit of work over the same fake database (the consumer's factory)."""
        return FakeReportingUnitOfWork(self.state, self.store)
