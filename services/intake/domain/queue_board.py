"""The queue board: every office's queues, desks and recent calls, as a projection of
intake's events (rebuilt by folding the event log from the start; nothing else is kept).

Pure: it takes decoded events and their times, and answers questions about the present
("who is next for this desk", "where is this visitor", "how long will it take").

Estimated wait (docs/office-day.md): 0 while fewer visitors are ahead than desks of the
queue are idle, else ``((p - 1 - i) / n + 1/2) * s`` for position ``p``, with ``i`` the
idle desks, ``n`` the open desks that serve the queue and ``s`` the mean time a desk spent
per visit of that queue in the last hour (else the office's, else
``DEFAULT_SERVICE_MINUTES``). The half is the expected rest of the visit a desk is busy
with when one's turn comes.
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo

from services.intake.domain.events import (
    BookingCancelled,
    BookingCheckedIn,
    BookingMade,
    BookingMoved,
    BookingNoShow,
    DeskClosed,
    DeskOpened,
    VisitCalled,
    VisitEnded,
    VisitMarkedNoShow,
    VisitRecalled,
    VisitRegistered,
    VisitTransferred,
)
from shared.events import DomainEvent

DEFAULT_SERVICE_MINUTES = 8.0
SERVICE_WINDOW = timedelta(hours=1)
RECENT_CALLS = 8
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass
class Waiting:
    visit_id: str
    ticket: str
    queue: str
    service_day: str
    arrived_at: datetime  # first registration: a transfer keeps the visitor's place
    to_desk: str | None = None
    booked_for: datetime | None = None  # a checked-in booking's time: called first from then


@dataclass
class Serving:
    visit_id: str
    ticket: str
    queue: str
    desk: str
    called_at: datetime


@dataclass(frozen=True)
class Call:
    ticket: str
    queue: str
    desk: str
    called_at: datetime
    recall: bool = False


@dataclass
class Desk:
    desk: str
    queues: tuple[str, ...]
    handler: str
    opened_at: datetime

    def serves(self, queue: str) -> bool:
        return not self.queues or queue in self.queues


@dataclass
class OfficeBoard:
    office_id: str
    waiting: dict[str, Waiting] = field(default_factory=dict)
    serving: dict[str, Serving] = field(default_factory=dict)
    desks: dict[str, Desk] = field(default_factory=dict)
    recent: deque[Call] = field(default_factory=lambda: deque(maxlen=RECENT_CALLS))
    # (queue, finished_at, minutes a desk spent on the visit), for the estimate
    done: deque[tuple[str, datetime, float]] = field(default_factory=lambda: deque(maxlen=500))
    version: int = 0  # bumped on every change: streams send one message per change
    # Kept as the board folds, so a registration costs O(1), not O(tickets of the day):
    # (day, queue) -> tickets waiting in the queue (not for one desk); the newest day
    # started, and whether something older than it may be on the board.
    in_queue: Counter[tuple[str, str]] = field(default_factory=Counter)
    day: str = ""
    stale: bool = False

    def add_waiting(self, w: Waiting) -> None:
        self.pop_waiting(w.visit_id)
        self.waiting[w.visit_id] = w
        if w.to_desk is None:
            self.in_queue[w.service_day, w.queue] += 1
        self.note_day(w.service_day)

    def pop_waiting(self, visit_id: str) -> Waiting | None:
        w = self.waiting.pop(visit_id, None)
        if w is not None and w.to_desk is None:
            key = (w.service_day, w.queue)
            self.in_queue[key] -= 1
            if not self.in_queue[key]:
                del self.in_queue[key]
        return w

    def note_day(self, day: str) -> None:
        """Something of ``day`` joined the board: older than the newest day, it is stale."""
        if day < self.day:
            self.stale = True

    def waiting_in(self, service_day: str, queue: str) -> int:
        """Tickets of the day waiting in ``queue`` (not those sent to one desk)."""
        return self.in_queue.get((service_day, queue), 0)

    def waiting_today(self, service_day: str) -> list[Waiting]:
        return sorted(
            (w for w in self.waiting.values() if w.service_day == service_day),
            key=lambda w: (w.arrived_at, w.ticket),
        )


class QueueBoard:
    def __init__(self, priorities: dict[str, dict[str, int]] | None = None, tz: tzinfo = UTC) -> None:
        self.tz = tz  # the offices' clock: which service day a time belongs to
        self.offices: dict[str, OfficeBoard] = {}
        self.visit_office: dict[str, str] = {}
        self.tickets: dict[str, tuple[str, str, datetime, str]] = {}  # visit -> ticket, queue, arrived, day
        # office -> queue -> priority (lower first); queues not named count as 1
        self.priorities = priorities or {}
        self.booked_times: dict[str, datetime] = {}  # open booking -> its time (until check-in)

    def office(self, office_id: str) -> OfficeBoard:
        return self.offices.setdefault(office_id, OfficeBoard(office_id))

    # -- the fold -----------------------------------------------------------------------
    def apply(self, event: DomainEvent, stream_id: str) -> str | None:
        """Fold one event; the office whose board changed, or None."""
        match event:
            case VisitRegistered():
                return self._registered(event)
            case VisitCalled():
                return self._called(event.visit_id, event.desk, event.called_at)
            case VisitRecalled():
                return self._recalled(event)
            case VisitTransferred():
                return self._transferred(event)
            case VisitMarkedNoShow():
                return self._finished(event.visit_id, event.marked_at)
            case VisitEnded():
                return self._finished(event.visit_id, event.ended_at)
            case DeskOpened():
                board = self.office(event.office_id)
                board.desks[event.desk] = Desk(event.desk, tuple(event.queues), event.handler, event.opened_at)
                board.note_day(self._day(event.opened_at))
                return self._changed(board)
            case DeskClosed():
                board = self.office(event.office_id)
                board.desks.pop(event.desk, None)
                return self._changed(board)
            case BookingMade() | BookingMoved():
                self.booked_times[event.booking_id] = event.slot_start
            case BookingCancelled() | BookingNoShow():
                self.booked_times.pop(event.booking_id, None)
            case BookingCheckedIn():
                return self._checked_in(event)
        return None

    def _checked_in(self, e: BookingCheckedIn) -> str | None:
        board = self.offices.get(e.office_id)
        waiting = board.waiting.get(e.visit_id) if board else None
        booked_for = self.booked_times.pop(e.booking_id, None)
        if board is None or waiting is None or booked_for is None:
            return None
        waiting.booked_for = booked_for  # not counted by day and queue: no change there
        return self._changed(board)

    def _changed(self, board: OfficeBoard) -> str:
        board.version += 1
        return board.office_id

    def _registered(self, e: VisitRegistered) -> str:
        board = self.office(e.office_id)
        self._start_day(board, e.service_day)
        self.visit_office[e.visit_id] = e.office_id
        self.tickets[e.visit_id] = (e.ticket, e.queue, e.registered_at, e.service_day)
        board.add_waiting(Waiting(e.visit_id, e.ticket, e.queue, e.service_day, e.registered_at))
        return self._changed(board)

    def _start_day(self, board: OfficeBoard, service_day: str) -> None:
        """The day boundary: tickets, visits at a desk and desks left open from earlier
        days do not carry over into a new day's queue. Only swept when something may be
        older than ``service_day`` (a new day, or a late event of an earlier one)."""
        if service_day <= board.day and not board.stale:
            return
        for stale in [w.visit_id for w in board.waiting.values() if w.service_day < service_day]:
            self._forget(board.pop_waiting(stale).visit_id)
        for stale in [s.visit_id for s in board.serving.values() if self._day(s.called_at) < service_day]:
            self._forget(board.serving.pop(stale).visit_id)
        for stale in [d.desk for d in board.desks.values() if self._day(d.opened_at) < service_day]:
            del board.desks[stale]
        if service_day >= board.day:
            board.day, board.stale = service_day, False

    def _day(self, at: datetime) -> str:
        return at.astimezone(self.tz).date().isoformat()

    def _called(self, visit_id: str, desk: str, at: datetime) -> str | None:
        office_id = self.visit_office.get(visit_id)
        if office_id is None:
            return None
        board = self.office(office_id)
        ticket, queue, *_ = self.tickets[visit_id]
        waiting = board.pop_waiting(visit_id)
        queue = waiting.queue if waiting else queue
        if previous := board.serving.get(visit_id):
            queue = previous.queue
        board.serving[visit_id] = Serving(visit_id, ticket, queue, desk, at)
        board.note_day(self._day(at))
        board.recent.appendleft(Call(ticket, queue, desk, at))
        return self._changed(board)

    def _recalled(self, e: VisitRecalled) -> str | None:
        board = self.offices.get(e.office_id)
        serving = board.serving.get(e.visit_id) if board else None
        if board is None or serving is None:
            return None
        serving.desk = e.desk
        board.recent.appendleft(Call(serving.ticket, serving.queue, e.desk, e.recalled_at, recall=True))
        return self._changed(board)

    def _transferred(self, e: VisitTransferred) -> str | None:
        office_id = self.visit_office.get(e.visit_id)
        if office_id is None:
            return None
        board = self.office(office_id)
        ticket, _, arrived, day = self.tickets[e.visit_id]
        self._end_service(board, e.visit_id, e.transferred_at)
        before = board.pop_waiting(e.visit_id)
        board.add_waiting(Waiting(
            e.visit_id, ticket, e.to_queue, day, arrived, e.to_desk, before.booked_for if before else None
        ))
        return self._changed(board)

    def _finished(self, visit_id: str, at: datetime) -> str | None:
        office_id = self.visit_office.get(visit_id)
        if office_id is None:
            return None
        board = self.office(office_id)
        self._end_service(board, visit_id, at)
        board.pop_waiting(visit_id)
        self._forget(visit_id)
        return self._changed(board)

    def _end_service(self, board: OfficeBoard, visit_id: str, at: datetime) -> None:
        serving = board.serving.pop(visit_id, None)
        if serving is not None:
            minutes = max((at - serving.called_at).total_seconds() / 60, 0.0)
            board.done.append((serving.queue, at, minutes))

    def _forget(self, visit_id: str) -> None:
        self.visit_office.pop(visit_id, None)
        self.tickets.pop(visit_id, None)

    # -- questions about the present ------------------------------------------------------
    def desk_queues(self, office_id: str, desk: str) -> tuple[str, ...] | None:
        board = self.offices.get(office_id)
        found = board.desks.get(desk) if board else None
        return found.queues if found else None

    def candidates(
        self, office_id: str, queues: list[str], desk: str, service_day: str, now: datetime | None = None
    ) -> list[Waiting]:
        """Who this desk calls next, in order: visits transferred to this desk; then
        checked-in bookings whose time has come (``now``), earliest time first; then by
        queue priority (booked appointments first), then the longest wait. A checked-in
        booking not yet due waits behind everyone (it is early: its official is not)."""
        board = self.offices.get(office_id)
        if board is None:
            return []
        priority = self.priorities.get(office_id, {})
        wanted = set(queues)
        eligible = [
            w for w in board.waiting_today(service_day)
            if (w.to_desk == desk) or (w.to_desk is None and w.queue in wanted)
        ]
        def due(w: Waiting) -> tuple[int, datetime]:
            if w.booked_for is None or now is None:
                return 1, EPOCH
            return (0, w.booked_for) if w.booked_for <= now else (2, EPOCH)

        return sorted(
            eligible, key=lambda w: (w.to_desk != desk, *due(w), priority.get(w.queue, 1), w.arrived_at, w.ticket)
        )

    def position(self, visit_id: str) -> int | None:
        """1 = next in its queue; None when the visit does not wait."""
        office_id = self.visit_office.get(visit_id)
        board = self.offices.get(office_id) if office_id else None
        me = board.waiting.get(visit_id) if board else None
        if board is None or me is None:
            return None
        ahead = [
            w for w in board.waiting_today(me.service_day)
            if w.queue == me.queue and w.to_desk == me.to_desk
        ]
        return next(i for i, w in enumerate(ahead, 1) if w.visit_id == visit_id)

    def service_minutes(self, office_id: str, queue: str, now: datetime) -> float:
        board = self.offices.get(office_id)
        recent = [(q, m) for q, at, m in (board.done if board else ()) if now - at <= SERVICE_WINDOW]
        of_queue = [m for q, m in recent if q == queue]
        sample = of_queue or [m for _, m in recent]
        return sum(sample) / len(sample) if sample else DEFAULT_SERVICE_MINUTES

    def estimate(self, office_id: str, queue: str, position: int, now: datetime) -> float | None:
        """Minutes until a visitor at ``position`` is called; None while no desk is open."""
        board = self.offices.get(office_id)
        if board is None or not board.desks:
            return None
        serving = [d for d in board.desks.values() if d.serves(queue)]
        busy = {s.desk for s in board.serving.values()}
        idle = sum(d.desk not in busy for d in serving)
        ahead = position - 1
        if ahead < idle:
            return 0.0
        return ((ahead - idle) / max(1, len(serving)) + 0.5) * self.service_minutes(office_id, queue, now)
