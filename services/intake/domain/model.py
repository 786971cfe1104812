"""The visit aggregate: one stream per visit, holding its questions.

Rules: a visit takes questions, calls and resolutions only while it is open; a question
is resolved once; a visit ends once. Agency and case-type hints must be catalog codes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from services.intake.domain.events import (
    PersonalDataErased,
    QuestionRecorded,
    QuestionResolved,
    Satisfaction,
    VisitCalled,
    VisitEnded,
    VisitRegistered,
)
from shared.aggregate import Aggregate
from shared.catalog import Catalog
from shared.errors import Conflict, InvalidInput
from shared.events import DomainEvent


@dataclass
class Question:
    question_id: str
    text: str
    agency: str | None
    case_type: str | None
    has_personal_identity_number: bool
    recorded_at: datetime
    outcome: str | None = None
    note: str | None = None
    resolved_at: datetime | None = None


@dataclass
class VisitState:
    office_id: str = ""
    channel: str = ""
    agency: str | None = None
    ticket: str = ""
    service_day: str = ""
    registered_at: datetime | None = None
    desk: str | None = None
    called_at: datetime | None = None
    ended_at: datetime | None = None
    satisfaction: Satisfaction | None = None
    questions: dict[str, Question] = field(default_factory=dict)


class Visit(Aggregate):
    state: VisitState

    def init_state(self) -> None:
        self.state = VisitState()

    @classmethod
    def register(cls, event: VisitRegistered) -> Visit:
        visit = cls(event.visit_id)
        visit.trigger(event)
        return visit

    def call(self, desk: str, at: datetime) -> None:
        self.check_open()
        self.trigger(VisitCalled(visit_id=self.id, desk=desk, called_at=at))

    def record_question(self, event: QuestionRecorded) -> None:
        self.check_open()
        self.trigger(event)

    def resolve(self, question_id: str, outcome: str, note: str | None, at: datetime) -> None:
        question = self.state.questions[question_id]
        if question.outcome is not None:
            raise Conflict(f"question {question_id} is already resolved ({question.outcome})")
        self.trigger(
            QuestionResolved(
                visit_id=self.id,
                question_id=question_id,
                outcome=outcome,
                note=note,
                resolved_at=at,
            )
        )

    def end(self, satisfaction: Satisfaction | None, at: datetime) -> None:
        self.check_open()
        self.trigger(VisitEnded(visit_id=self.id, satisfaction=satisfaction, ended_at=at))

    def record_erasure(self, actor: str, at: datetime) -> None:
        self.trigger(PersonalDataErased(visit_id=self.id, actor=actor, erased_at=at))

    def check_open(self) -> None:
        if self.state.ended_at is not None:
            raise Conflict(f"visit {self.id} has ended")

    def apply(self, event: DomainEvent) -> None:
        s = self.state
        match event:
            case VisitRegistered():
                s.office_id, s.channel, s.agency = event.office_id, event.channel, event.agency
                s.ticket, s.service_day = event.ticket, event.service_day
                s.registered_at = event.registered_at
            case VisitCalled():
                s.desk = event.desk
                s.called_at = s.called_at or event.called_at
            case QuestionRecorded():
                s.questions[event.question_id] = Question(
                    question_id=event.question_id,
                    text=event.text,
                    agency=event.agency,
                    case_type=event.case_type,
                    has_personal_identity_number=event.personal_identity_number is not None,
                    recorded_at=event.recorded_at,
                )
            case QuestionResolved():
                question = s.questions[event.question_id]
                question.outcome, question.note = event.outcome, event.note
                question.resolved_at = event.resolved_at
            case VisitEnded():
                s.ended_at, s.satisfaction = event.ended_at, event.satisfaction
            case PersonalDataErased():
                for question in s.questions.values():
                    question.has_personal_identity_number = False


def check_hints(catalog: Catalog, agency: str | None, case_type: str | None) -> str | None:
    """Validate agency and case-type hints; return the agency (inferred from an
    unambiguous case type when none was given)."""
    if agency is not None and not catalog.is_agency(agency):
        raise InvalidInput(f"unknown agency code {agency!r}", {"known": sorted(catalog.agency_names)})
    if case_type is None:
        return agency
    if agency is not None:
        if not catalog.is_case_type(agency, case_type):
            known = [c.code for c in catalog.case_types_of(agency)]
            raise InvalidInput(f"unknown case type {case_type!r} for {agency}", {"known": known})
        return agency
    owners = [a for (a, code) in catalog.case_types if code == case_type]
    if len(owners) != 1:
        problem = "unknown case type" if not owners else "case type needs an agency"
        raise InvalidInput(f"{problem}: {case_type!r}", {"agencies": owners})
    return owners[0]
