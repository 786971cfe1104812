"""The live path of the office day's events, through the fold the replay uses too.

A visit event: the visit's queue log is loaded, the event added (once), and the visit's
flow and service steps derived anew from the whole log. A desk event: the desk's
sessions are loaded, the event added, and the session it opened or closed saved."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from services.reporting.domain.day import derive
from services.reporting.domain.day_rules import VISIT_APPLIERS
from services.reporting.domain.fold import Fold
from services.reporting.unit_of_work import SqlReportingUnitOfWork as ReportingUnitOfWork
from shared.events import DomainEvent, EventEnvelope


async def apply_day_event(
    event: DomainEvent, envelope: EventEnvelope, uow: ReportingUnitOfWork, tz: ZoneInfo
) -> None:
    payload = event.model_dump(mode="json")
    fold = Fold(tz)
    if envelope.event_type in VISIT_APPLIERS:
        visit_id = payload["visit_id"]
        log = fold.queue_log(visit_id)
        for stored in await uow.day.queue_log(visit_id):
            log[stored.key] = stored
        known = set(log)
        VISIT_APPLIERS[envelope.event_type](payload, fold)
        for key in set(log) - known:  # empty for a repeated event
            await uow.day.add_queue_event(log[key])
        await uow.day.save_derived(derive(visit_id, list(log.values()), tz))
        return
    stored = await uow.day.desk_sessions(payload["office_id"], payload["desk"])
    log = fold.desk_log(payload["office_id"], payload["desk"])
    for session in stored:
        log.add_session(session)
    fold.apply(envelope.event_type, payload)
    for session in log.sessions():
        if session not in stored:  # the one the event opened or closed
            await uow.day.save_session(session)
