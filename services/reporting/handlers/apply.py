"""The live path: the consumer's events are staged in its transaction and, just before it
commits, folded together through the fold the replay uses too (``domain.live_fold``) and
written set-based (one read and one write per table touched, not a few per event), with
the transaction's inbox rows and position.

The consumer hands a batch (one topic partition's consecutive events) to one unit of
work, or a single event when it falls back to one at a time: either way the fold sees the
events in their log order, and a failure anywhere rolls the whole transaction back.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from services.reporting.domain.fold import Fold
from services.reporting.domain.live_fold import batch_keys, fold_batch
from services.reporting.unit_of_work import SqlReportingUnitOfWork as ReportingUnitOfWork
from shared.events import DomainEvent, EventEnvelope


async def stage_event(
    event: DomainEvent, envelope: EventEnvelope, uow: ReportingUnitOfWork, tz: ZoneInfo
) -> None:
    """Stage the validated, upcast event in its JSON form (what the replay reads)."""
    if not uow.staged:
        uow.before_commit(lambda: apply_staged(uow, tz))
    uow.staged.append((envelope.event_type, event.model_dump(mode="json")))


async def apply_staged(uow: ReportingUnitOfWork, tz: ZoneInfo) -> None:
    events, uow.staged = uow.staged, []
    fold = Fold(tz)
    await uow.projection.load(batch_keys(events), fold)
    await uow.projection.save(fold_batch(fold, events))
