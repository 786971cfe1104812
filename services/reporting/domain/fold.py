"""The fold over records held in memory: the replay's batch, and the live handler's few
loaded rows. ``apply`` runs the event type's rules from ``fact_rules``, ``day_rules``,
``steering_rules`` and ``meeting_rules``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from services.reporting.domain.day import Derived, DeskLog, DeskSession, QueueEvent, derive
from services.reporting.domain.day_rules import DAY_APPLIERS
from services.reporting.domain.fact_rules import APPLIERS, Payload
from services.reporting.domain.meeting_rules import MEETING_APPLIERS, MeetingRecords
from services.reporting.domain.model import QuestionRecord, VisitRecord
from services.reporting.domain.steering_rules import STEERING_APPLIERS, SteeringRecords

EVENT_TYPES = frozenset(APPLIERS) | frozenset(DAY_APPLIERS) | frozenset(STEERING_APPLIERS) \
    | frozenset(MEETING_APPLIERS)


@dataclass
class Fold:
    """Records in memory: the replay's batch, and the live handler's loaded rows."""

    tz: ZoneInfo
    visits: dict[str, VisitRecord] = field(default_factory=dict)
    questions: dict[str, QuestionRecord] = field(default_factory=dict)
    queue_logs: dict[str, dict[tuple[str, datetime], QueueEvent]] = field(default_factory=dict)
    desks: dict[tuple[str, str], DeskLog] = field(default_factory=dict)
    steering: SteeringRecords = field(default_factory=SteeringRecords)
    meetings: MeetingRecords = field(init=False)

    def __post_init__(self) -> None:
        self.meetings = MeetingRecords(self.tz)

    def visit(self, visit_id: str) -> VisitRecord:
        found = self.visits.get(visit_id)
        if found is None:
            found = self.visits[visit_id] = VisitRecord(visit_id)
        return found

    def question(self, visit_id: str, question_id: str) -> QuestionRecord:
        found = self.questions.get(question_id)
        if found is None:
            found = self.questions[question_id] = QuestionRecord(question_id, visit_id)
        return found

    def queue_log(self, visit_id: str) -> dict[tuple[str, datetime], QueueEvent]:
        return self.queue_logs.setdefault(visit_id, {})

    def desk_log(self, office_id: str, desk: str) -> DeskLog:
        found = self.desks.get((office_id, desk))
        if found is None:
            found = self.desks[(office_id, desk)] = DeskLog(office_id, desk)
        return found

    def apply(self, event_type: str, payload: Payload) -> bool:
        """Apply one event; False when reporting does not use its type."""
        applier, day_applier = APPLIERS.get(event_type), DAY_APPLIERS.get(event_type)
        steering, meeting = STEERING_APPLIERS.get(event_type), MEETING_APPLIERS.get(event_type)
        if meeting is not None:
            meeting(payload, self.meetings)
            return True
        if day_applier is not None:
            day_applier(payload, self)
        if applier is not None:
            applier(payload, self)
        if steering is not None:
            steering(payload, self.steering)
        return applier is not None or day_applier is not None or steering is not None

    def derived(self) -> list[Derived]:
        """Every visit's flow and service steps, from its queue log."""
        return [derive(v, list(log.values()), self.tz) for v, log in self.queue_logs.items()]

    def sessions(self) -> list[DeskSession]:
        return [s for log in self.desks.values() for s in log.sessions()]

    def finish(self) -> None:
        """Every question's visit has a record holding its question count (what the
        live consumer does as each new question arrives)."""
        counts: dict[str, int] = {}
        for q in self.questions.values():
            counts[q.visit_id] = counts.get(q.visit_id, 0) + 1
            visit = self.visit(q.visit_id)
            visit.office_id = visit.office_id or q.office_id
        for visit_id, visit in self.visits.items():
            visit.question_count = counts.get(visit_id, 0)
