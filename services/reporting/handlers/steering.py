"""The live path of the steering facts, through the fold the replay uses too: the event
is folded into empty records, and what it produced is saved (an erasure removes the
visit's links; a link of a visit erased before is never saved)."""

from __future__ import annotations

from services.reporting.domain.steering_rules import STEERING_APPLIERS, SteeringRecords
from services.reporting.unit_of_work import SqlReportingUnitOfWork as ReportingUnitOfWork
from shared.events import DomainEvent, EventEnvelope


async def apply_steering_event(event: DomainEvent, envelope: EventEnvelope, uow: ReportingUnitOfWork) -> None:
    records = SteeringRecords()
    STEERING_APPLIERS[envelope.event_type](event.model_dump(mode="json"), records)
    for visit_id, minutes in records.estimates.items():
        await uow.steering.save_estimate(visit_id, minutes)
    for visit_id in records.erased:
        await uow.steering.erase_links(visit_id)
    for link in records.links.values():
        if not await uow.steering.is_erased(link.visit_id):
            await uow.steering.save_link(link)
    for decision in records.decisions.values():
        await uow.steering.save_decision(decision)
