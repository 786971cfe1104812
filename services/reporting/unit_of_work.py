"""Reporting's unit of work: the shared one (inbox, positions, and the event store that
holds reporting's own events) plus the report store and the audit log."""

from __future__ import annotations

from typing import Self

from sqlmodel.ext.asyncio.session import AsyncSession

from services.reporting.adapters.audit_log import AuditLog, InMemoryAuditLog, SqlAuditLog
from services.reporting.adapters.day_repository import (
    DayRepository,
    InMemoryDay,
    InMemoryDayStore,
    SqlDay,
)
from services.reporting.adapters.meeting_repository import (
    InMemoryMeetings,
    InMemoryMeetingStore,
    MeetingRepository,
    SqlMeetings,
)
from services.reporting.adapters.repositories import (
    InMemoryReports,
    InMemoryReportStore,
    ReportRepository,
    SqlReports,
)
from services.reporting.adapters.steering_repository import (
    InMemorySteering,
    InMemorySteeringStore,
    SqlSteering,
    SteeringRepository,
)
from services.reporting.domain.audit import AuditEntry
from shared.unit_of_work import InMemoryState, InMemoryUnitOfWork, SqlUnitOfWork


class SqlReportingUnitOfWork(SqlUnitOfWork):
    reports: ReportRepository
    audit: AuditLog
    day: DayRepository
    steering: SteeringRepository
    meetings: MeetingRepository

    def open_repositories(self, session: AsyncSession) -> None:
        self.reports = SqlReports(session)
        self.audit = SqlAuditLog(session)
        self.day = SqlDay(session)
        self.steering = SqlSteering(session)
        self.meetings = SqlMeetings(session)


class FakeReportingUnitOfWork(InMemoryUnitOfWork):
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

    async def __aenter__(self) -> Self:
        await super().__aenter__()
        self.reports = InMemoryReports(self.store)
        self.audit = InMemoryAuditLog(self.audit_store)
        self.day = InMemoryDay(self.day_store)
        self.steering = InMemorySteering(self.steering_store)
        self.meetings = InMemoryMeetings(self.meeting_store)
        return self

    async def _commit(self) -> None:
        await super()._commit()
        self.reports.flush()
        self.audit.flush()
        self.day.flush()
        self.steering.flush()
        self.meetings.flush()

    async def rollback(self) -> None:
        await super().rollback()
        self.reports.discard()
        self.audit.discard()
        self.day.discard()
        self.steering.discard()
        self.meetings.discard()

    def fresh(self) -> FakeReportingUnitOfWork:
        """A new unit of work over the same fake database (the consumer's factory)."""
        return FakeReportingUnitOfWork(self.state, self.store, self.audit_store, self.day_store,
                                       self.steering_store, self.meeting_store)
