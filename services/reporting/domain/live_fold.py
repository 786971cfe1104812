"""The live consumer's fold of one batch: the stored records the batch names are loaded
once, every event of the batch is folded in order (the replay's rules, ``Fold.apply``),
and what changed is written once per table.

The result is the one the event-at-a-time path gave: a question's visit gets its office
and question count when the question is new (a count of the visit's questions, so a
repeated event never adds one twice); a visit is saved when a visit event or a new
question names it; a visit's flow and steps are derived anew from its whole queue log; a
desk session is saved when the batch opened or closed it; a booking or an office's rooms
when an event names it. Steering facts are folded from nothing, as the live path always
did: the store keeps the earliest decision and never links a visit erased before.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from services.reporting.domain.day import Derived, DeskSession, QueueEvent, derive
from services.reporting.domain.day_rules import DESK_APPLIERS, VISIT_APPLIERS
from services.reporting.domain.fact_rules import APPLIERS, Payload
from services.reporting.domain.fold import Fold
from services.reporting.domain.meeting_rules import MEETING_APPLIERS, MeetingRecord, VideoRooms
from services.reporting.domain.model import QuestionRecord, VisitRecord
from services.reporting.domain.steering_rules import SteeringRecords

Staged = tuple[str, Payload]  # (event type, the event's JSON payload)


@dataclass
class BatchKeys:
    """The stored records a batch can touch, to load in one read per table."""

    visits: set[str] = field(default_factory=set)  # facts and queue logs; questions by visit too
    questions: set[str] = field(default_factory=set)
    desks: set[tuple[str, str]] = field(default_factory=set)
    bookings: set[str] = field(default_factory=set)
    rooms: set[str] = field(default_factory=set)  # offices


def batch_keys(events: Iterable[Staged]) -> BatchKeys:
    keys = BatchKeys()
    for event_type, p in events:
        if event_type in MEETING_APPLIERS:
            if "booking_id" in p:
                keys.bookings.add(p["booking_id"])
            else:
                keys.rooms.add(p["office_id"])
        elif event_type in DESK_APPLIERS:
            keys.desks.add((p["office_id"], p["desk"]))
        else:
            keys.visits.add(p["visit_id"])
            if p.get("question_id") is not None:
                keys.questions.add(p["question_id"])
    return keys


@dataclass
class Changes:
    """What a batch writes. ``days`` are the service days of the saved facts, before and
    after (the aggregates' rebuild marks)."""

    visits: list[VisitRecord]
    questions: list[QuestionRecord]
    days: set[str]
    queue_events: list[QueueEvent]
    derived: list[Derived]
    sessions: list[DeskSession]
    steering: SteeringRecords
    meetings: list[MeetingRecord]
    rooms: list[VideoRooms]


class LiveFold:
    """Folds a batch over the loaded records (``fold``: every stored visit, question,
    queue event, desk session, booking and rooms declaration the batch's keys name; the
    questions of every named visit)."""

    def __init__(self, fold: Fold) -> None:
        self.fold = fold
        self.counts = Counter(q.visit_id for q in fold.questions.values())
        self.stored_events = {v: set(log) for v, log in fold.queue_logs.items()}
        self.stored_sessions = {(s.office_id, s.desk, s.opened_at): s for s in fold.sessions()}
        self.days_before = {("v", v.visit_id): v.service_day for v in fold.visits.values()} | {
            ("q", q.question_id): q.service_day for q in fold.questions.values()}
        self.visits: set[str] = set()
        self.questions: set[str] = set()
        self.day_visits: set[str] = set()
        self.desks: set[tuple[str, str]] = set()
        self.bookings: set[str] = set()
        self.rooms: set[str] = set()

    def apply(self, event_type: str, p: Payload) -> None:
        fold = self.fold
        if event_type in MEETING_APPLIERS:
            fold.apply(event_type, p)
            if "booking_id" in p:
                self.bookings.add(p["booking_id"])
            else:
                self.rooms.add(p["office_id"])
            return
        if event_type in VISIT_APPLIERS:
            self.day_visits.add(p["visit_id"])
        elif event_type in DESK_APPLIERS:
            self.desks.add((p["office_id"], p["desk"]))
        question_id = p.get("question_id") if event_type in APPLIERS else None
        new = question_id is not None and question_id not in fold.questions
        fold.apply(event_type, p)
        if event_type not in APPLIERS:
            return
        if question_id is None:
            self.visits.add(p["visit_id"])
            return
        question = fold.questions[question_id]
        self.questions.add(question_id)
        if new:
            self.counts[question.visit_id] += 1
            visit = fold.visit(question.visit_id)
            visit.office_id = visit.office_id or question.office_id
            visit.question_count = self.counts[question.visit_id]
            self.visits.add(visit.visit_id)

    def changes(self) -> Changes:
        fold = self.fold
        visits = [fold.visits[v] for v in sorted(self.visits)]
        questions = [fold.questions[q] for q in sorted(self.questions)]
        days = {d for r in visits if (d := r.service_day)} | {d for r in questions if (d := r.service_day)}
        days |= {self.days_before.get(("v", r.visit_id)) for r in visits} - {None}  # type: ignore[operator]
        days |= {self.days_before.get(("q", r.question_id)) for r in questions} - {None}  # type: ignore[operator]
        new_events, derived = [], []
        for visit_id in sorted(self.day_visits):
            log, known = fold.queue_logs[visit_id], self.stored_events.get(visit_id, set())
            new_events += [e for key, e in log.items() if key not in known]
            derived.append(derive(visit_id, list(log.values()), fold.tz))
        sessions = [s for desk in sorted(self.desks) for s in fold.desks[desk].sessions()
                    if self.stored_sessions.get((s.office_id, s.desk, s.opened_at)) != s]
        meetings = [fold.meetings.meeting(b) for b in sorted(self.bookings)]
        rooms = [fold.meetings.rooms[o] for o in sorted(self.rooms)]
        return Changes(visits, questions, days, new_events, derived, sessions, fold.steering,  # type: ignore[arg-type]
                       meetings, rooms)


def fold_batch(loaded: Fold, events: Iterable[Staged]) -> Changes:
    live = LiveFold(loaded)
    for event_type, payload in events:
        live.apply(event_type, payload)
    return live.changes()
