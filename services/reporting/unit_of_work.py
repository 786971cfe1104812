"""Reporting's unit of work: the shared one (inbox, positions, and the event store that
holds reporting's own events) plus the projection and the audit log.

The consumer's handlers stage the events of its transaction (``staged``) and register a
hook that folds and writes them all just before the transaction commits: a batch of
events costs a few set-based statements, not a few per event."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Self

from sqlmodel.ext.asyncio.session import AsyncSession

from services.reporting.adapters.audit_log import AuditLog, InMemoryAuditLog, SqlAuditLog
from services.reporting.adapters.day_repository import InMemoryDay, InMemoryDayStore
from services.reporting.adapters.meeting_repository import InMemoryMeetings, InMemoryMeetingStore
from services.reporting.adapters.projection import SqlProjection
from services.reporting.adapters.repositories import (
    InMemoryProjection,
    InMemoryReports,
    InMemoryReportStore,
    Projection,
)
from services.reporting.adapters.steering_repository import InMemorySteering, InMemorySteeringStore
from services.reporting.domain.audit import AuditEntry
from shared.unit_of_work import InMemoryState, InMemoryUnitOfWork, SqlUnitOfWork

Hook = Callable[[], Awaitable[Any]]


class Staging:
    """The events staged in this transaction and the hooks that write them at commit."""

    staged: list[tuple[str, dict[str, Any]]]
    _before: list[Hook]

    def start_staging(self) -> None:
        self.staged, self._before = [], []

    def before_commit(self, hook: Hook) -> None:
        """Run ``hook`` once, just before this transaction commits (never on rollback)."""
        self._before.append(hook)

    async def run_before_commit(self) -> None:
        hooks, self._before = self._before, []
        for hook in hooks:
            await hook()


class SqlReportingUnitOfWork(Staging, SqlUnitOfWork):
    projection: Projection
    audit: AuditLog

    def open_repositories(self, session: AsyncSession) -> None:
        self.start_staging()
        self.projection = SqlProjection(session)
        self.audit = SqlAuditLog(session)

    async def _commit(self) -> None:
        await self.run_before_commit()
        await super()._commit()


class FakeReportingUnitOfWork(Staging, InMemoryUnitOfWork):
    """In-memory; report rows, the day's rows, audit entries, events, inbox and positions
    commit and roll back together."""

    def __init__(
        self,
        state: InMemoryState | None = None,
        store: InMemoryReportStore | None = None,
        audit_store: dict[str, AuditEntry] | None = None,
        day_store: InMemoryDayStore | None = None,
        steering_store: InMemorySteeringStore | None = None,
        meeting_store: InMemoryMeetingStore | None = None,
    ) -> None:
        super().__init__(state)
        self.store = store or InMemoryReportStore()
        self.audit_store = {} if audit_store is None else audit_store
        self.day_store = day_store or InMemoryDayStore()
        self.steering_store = steering_store or InMemorySteeringStore()
        self.meeting_store = meeting_store or InMemoryMeetingStore()
        self.reports = InMemoryReports(self.store)
        self.audit = InMemoryAuditLog(self.audit_store)
        self.day = InMemoryDay(self.day_store)
        self.steering = InMemorySteering(self.steering_store)
        self.meetings = InMemoryMeetings(self.meeting_store)
        self._open()

    def _open(self) -> None:
        self.start_staging()
        self.projection = InMemoryProjection(self.reports, self.day, self.steering, self.meetings)

    async def __aenter__(self) -> Self:
        await super().__aenter__()
        self.reports = InMemoryReports(self.store)
        self.audit = InMemoryAuditLog(self.audit_store)
        self.day = InMemoryDay(self.day_store)
        self.steering = InMemorySteering(self.steering_store)
        self.meetings = InMemoryMeetings(self.meeting_store)
        self._open()
        return self

    async def _commit(self) -> None:
        await self.run_before_commit()
        await super()._commit()
        self.reports.flush()
        self.audit.flush()
        self.day.flush()
        self.steering.flush()
        self.meetings.flush()

    async def rollback(self) -> None:
        await super().rollback()
        self.start_staging()
        self.reports.discard()
        self.audit.discard()
        self.day.discard()
        self.steering.discard()
        self.meetings.discard()

    def fresh(self) -> FakeReportingUnitOfWork:
        """A new unit of work over the same fake database (the consumer's factory)."""
        return FakeReportingUnitOfWork(self.state, self.store, self.audit_store, self.day_store,
                                       self.steering_store, self.meeting_store)
