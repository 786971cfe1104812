"""The audit trail's handlers: the consumer's (an override, a dead-letter replay or an
erasure from another service's topic) and the export command's (reporting's own event and
its audit entry, one transaction: no export leaves unrecorded)."""

from __future__ import annotations

from services.reporting.domain.audit import audit_entry
from services.reporting.domain.commands import RecordExport
from services.reporting.domain.events import DataExported
from services.reporting.domain.exports import Export
from services.reporting.unit_of_work import SqlReportingUnitOfWork as ReportingUnitOfWork
from shared.events import DomainEvent, EventEnvelope, utc_now
from shared.unit_of_work import new_id


async def record_audit(event: DomainEvent, envelope: EventEnvelope, uow: ReportingUnitOfWork) -> None:
    """In the consumer's transaction (with its inbox row and position)."""
    entry = audit_entry(envelope.event_type, str(envelope.event_id), event.model_dump(mode="json"))
    if entry is not None:
        await uow.audit.add(entry)


async def record_export(cmd: RecordExport, uow: ReportingUnitOfWork) -> DataExported:
    async with uow:
        export = Export.record(new_id(), cmd, utc_now())
        [envelope] = uow.save(export)
        event = export.recorded
        assert event is not None
        await record_audit(event, envelope, uow)
        await uow.commit()
    return event
