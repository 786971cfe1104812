"""The fold over records held in memory: the replay's batch, and the live handler's few
loaded rows. ``apply`` runs the event type's rule from ``fold``."""

from __future__ import annotations

from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from services.reporting.domain.fold import APPLIERS, Payload
from services.reporting.domain.model import QuestionRecord, VisitRecord


@dataclass
class Fold:
    """Records in memory: the replay's batch, and the live handler's loaded rows."""

    tz: ZoneInfo
    visits: dict[str, VisitRecord] = field(default_factory=dict)
    questions: dict[str, QuestionRecord] = field(default_factory=dict)

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

    def apply(self, event_type: str, payload: Payload) -> bool:
        """Apply one event; False when reporting does not use its type."""
        applier = APPLIERS.get(event_type)
        if applier is None:
            return False
        applier(payload, self)
        return True

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
