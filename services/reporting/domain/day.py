"""The office day in reporting: a visit's queue events, and what follows from them.

A visit's queue events (registered, called, recalled, no-show, transferred, ended) are kept
as a small log keyed by ``(kind, at)``; the visit's flow (wait, service, counts) and its
service steps are *derived* from that log, sorted by time. So a repeated event changes
nothing and the order in which events arrive does not matter: the live consumer (one
event, the visit's log loaded from the store) and the replay (every log in memory) give
the same rows. Pure and framework-free.

- Waiting time = registered → first called (a visit's first wait, in its registered
  queue). A transferred visit waits again; that wait belongs to its next service step.
- A service step starts at a call and ends at the visit's end, a transfer or a no-show.
  Its service time is call → end or transfer; a no-show step has none (nobody was served).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from services.reporting.domain.model import as_utc, seconds_between

# Same instant: a registration comes before a call, a call before what ends its step.
KINDS = ("registered", "called", "recalled", "no_show", "transferred", "ended")
_RANK = {k: i for i, k in enumerate(KINDS)}
ENDED, TRANSFERRED, NO_SHOW = "ended", "transferred", "no_show"


@dataclass(frozen=True, slots=True)
class QueueEvent:
    """One step of a visit's day, without anything personal: no handler, no text."""

    visit_id: str
    kind: str
    at: datetime
    office_id: str | None = None
    queue: str | None = None
    desk: str | None = None
    to_queue: str | None = None
    channel: str | None = None

    @property
    def key(self) -> tuple[str, datetime]:
        return self.kind, self.at


@dataclass(slots=True)
class ServiceStep:
    visit_id: str
    step: int
    office_id: str | None
    queue: str | None
    desk: str | None
    waiting_since: datetime | None
    called_at: datetime
    service_day: str
    called_hour: int
    called_weekday: int
    ended_at: datetime | None = None
    end_reason: str | None = None  # ended | transferred | no_show; None: still at the desk
    wait_seconds: float | None = None
    service_seconds: float | None = None
    recalls: int = 0


@dataclass(slots=True)
class VisitFlow:
    visit_id: str
    office_id: str | None = None
    channel: str | None = None
    queue: str | None = None
    service_day: str | None = None
    registered_hour: int | None = None
    registered_weekday: int | None = None
    registered_at: datetime | None = None
    first_called_at: datetime | None = None
    ended_at: datetime | None = None
    wait_seconds: float | None = None
    service_seconds: float | None = None
    service_steps: int = 0
    recalls: int = 0
    transfers: int = 0
    no_show: bool = False


@dataclass
class Derived:
    flow: VisitFlow
    steps: list[ServiceStep] = field(default_factory=list)


def derive(visit_id: str, events: list[QueueEvent], tz: ZoneInfo) -> Derived:
    """The visit's flow and service steps from its queue events (any order, no repeats)."""
    flow = Derived(VisitFlow(visit_id))
    f = flow.flow
    current_queue: str | None = None
    waiting_since: datetime | None = None
    open_step: ServiceStep | None = None
    for e in sorted(events, key=lambda e: (e.at, _RANK[e.kind])):
        f.office_id = f.office_id or e.office_id or None
        if e.kind == "registered":
            local = e.at.astimezone(tz)
            f.channel, f.queue, f.registered_at = e.channel, e.queue, e.at
            f.service_day, f.registered_hour = local.date().isoformat(), local.hour
            f.registered_weekday = local.isoweekday()
            current_queue, waiting_since = current_queue or e.queue, waiting_since or e.at
        elif e.kind == "called" and open_step is None:
            local = e.at.astimezone(tz)
            open_step = ServiceStep(
                visit_id, len(flow.steps) + 1, e.office_id or f.office_id,
                e.queue or current_queue or f.queue, e.desk, waiting_since, e.at,
                local.date().isoformat(), local.hour, local.isoweekday(),
                wait_seconds=seconds_between(waiting_since, e.at),
            )
            flow.steps.append(open_step)
            f.first_called_at = f.first_called_at or e.at
        elif e.kind == "recalled" and open_step is not None:
            open_step.recalls += 1
        elif e.kind == NO_SHOW:
            f.no_show = True
            if open_step is not None:
                open_step.ended_at, open_step.end_reason, open_step = e.at, NO_SHOW, None
        elif e.kind == TRANSFERRED:
            f.transfers += 1
            if open_step is not None:
                _close(open_step, e.at, TRANSFERRED)
                open_step = None
            current_queue, waiting_since = e.to_queue or current_queue, e.at
        elif e.kind == ENDED:
            f.ended_at = e.at
            if open_step is not None:
                _close(open_step, e.at, ENDED)
                open_step = None
    _totals(f, flow.steps)
    return flow


def _close(step: ServiceStep, at: datetime, reason: str) -> None:
    step.ended_at, step.end_reason = at, reason
    step.service_seconds = seconds_between(step.called_at, at)


def _totals(f: VisitFlow, steps: list[ServiceStep]) -> None:
    f.wait_seconds = seconds_between(f.registered_at, f.first_called_at)
    served = [s.service_seconds for s in steps if s.service_seconds is not None]
    f.service_seconds = round(sum(served), 3) if served else None
    f.service_steps = len(served)
    f.recalls = sum(s.recalls for s in steps)


def queue_event(kind: str, payload: dict, at: datetime) -> QueueEvent:
    """The event's reporting-relevant fields (never the handler, never free text)."""
    return QueueEvent(
        visit_id=payload["visit_id"], kind=kind, at=as_utc(at),  # type: ignore[arg-type]
        office_id=payload.get("office_id") or None,
        queue=payload.get("queue") or payload.get("from_queue") or None,
        desk=payload.get("desk") or payload.get("by_desk") or None,
        to_queue=payload.get("to_queue") if kind == TRANSFERRED else None,
        channel=payload.get("channel") if kind == "registered" else None,
    )


@dataclass(slots=True)
class DeskSession:
    """A service point open from ``opened_at`` to ``closed_at`` (staffed time)."""

    office_id: str
    desk: str
    opened_at: datetime
    service_day: str
    queues: str
    closed_at: datetime | None = None
    staffed_seconds: float | None = None

    def close(self, at: datetime) -> None:
        self.closed_at = at
        self.staffed_seconds = seconds_between(self.opened_at, at)


@dataclass
class DeskLog:
    """A desk's openings and closings; its sessions are derived from them (each opening
    closes at the first closing before the next opening), so any order gives the same
    sessions and a repeated event changes nothing."""

    office_id: str
    desk: str
    opens: dict[datetime, DeskSession] = field(default_factory=dict)
    closes: set[datetime] = field(default_factory=set)

    def add_session(self, session: DeskSession) -> None:
        """A stored session: its opening, and its closing if it has one."""
        self.opens[session.opened_at] = DeskSession(session.office_id, session.desk, session.opened_at,
                                                    session.service_day, session.queues)
        if session.closed_at is not None:
            self.closes.add(session.closed_at)

    def open(self, payload: dict, at: datetime, tz: ZoneInfo) -> None:
        self.opens.setdefault(at, DeskSession(self.office_id, self.desk, at,
                                              at.astimezone(tz).date().isoformat(),
                                              ",".join(payload.get("queues") or [])))

    def sessions(self) -> list[DeskSession]:
        order = sorted(self.opens)
        out = []
        for i, opened in enumerate(order):
            template, following = self.opens[opened], order[i + 1] if i + 1 < len(order) else None
            session = DeskSession(self.office_id, self.desk, opened, template.service_day, template.queues)
            ends = [c for c in self.closes if c >= opened and (following is None or c < following)]
            if ends:
                session.close(min(ends))
            out.append(session)
        return out
