"""The fold of the office day's events: one rule per event type, on the event's JSON
payload, like ``fold``. Visit events add to the visit's queue log (``day.derive`` turns
it into its flow and steps); desk events add to the desk's log of openings and closings
(``DeskLog.sessions`` pairs them)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from services.reporting.domain.day import DeskLog, QueueEvent, queue_event
from services.reporting.domain.fact_rules import Payload, ts


class DayRecords(Protocol):
    tz: ZoneInfo

    def queue_log(self, visit_id: str) -> dict[tuple[str, datetime], QueueEvent]:
        """The visit's queue events by ``(kind, at)``, created empty when new."""

    def desk_log(self, office_id: str, desk: str) -> DeskLog:
        """The desk's openings and closings, created empty when new."""


def _visit(kind: str, time_field: str) -> Callable[[Payload, DayRecords], None]:
    def apply(p: Payload, r: DayRecords) -> None:
        event = queue_event(kind, p, ts(p[time_field]))
        r.queue_log(event.visit_id)[event.key] = event

    apply.__name__ = f"visit_{kind}"
    return apply


def desk_opened(p: Payload, r: DayRecords) -> None:
    r.desk_log(p["office_id"], p["desk"]).open(p, ts(p["opened_at"]), r.tz)


def desk_closed(p: Payload, r: DayRecords) -> None:
    r.desk_log(p["office_id"], p["desk"]).closes.add(ts(p["closed_at"]))


VISIT_APPLIERS: dict[str, Callable[[Payload, DayRecords], None]] = {
    "intake.VisitRegistered": _visit("registered", "registered_at"),
    "intake.VisitCalled": _visit("called", "called_at"),
    "intake.VisitRecalled": _visit("recalled", "recalled_at"),
    "intake.VisitMarkedNoShow": _visit("no_show", "marked_at"),
    "intake.VisitTransferred": _visit("transferred", "transferred_at"),
    "intake.VisitEnded": _visit("ended", "ended_at"),
}
DESK_APPLIERS: dict[str, Callable[[Payload, DayRecords], None]] = {
    "intake.DeskOpened": desk_opened,
    "intake.DeskClosed": desk_closed,
}
DAY_APPLIERS = {**VISIT_APPLIERS, **DESK_APPLIERS}
