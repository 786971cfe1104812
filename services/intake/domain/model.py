"""The visit aggregate: one stream per visit, holding its questions.

Rules: a visit takes questions, calls and resolutions only while it is open; a question
is resolved once; a visit ends once. Agency and case-type hints must be catalog codes.
Erasure is final: once a visit's personal data is erased it takes no identity number
again (a question with one is refused; docs/security.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from services.intake.domain.events import (
    DeskClosed,
    DeskOpened,
    PersonalDataErased,
    QuestionRecorded,
    QuestionResolved,
    Satisfaction,
    VisitCalled,
    VisitEnded,
    VisitMarkedNoShow,
    VisitRecalled,
    VisitRegistered,
    VisitTransferred,
)
from shared.aggregate import Aggregate
from shared.catalog import Catalog
from shared.errors import Conflict, InvalidInput
from shared.events import DomainEvent


class PersonalDataErasedError(Conflict):
    """The visit's personal data was erased: it takes none again (409)."""

    code = "personal_data_erased"


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
    queue: str = ""
    estimated_wait_minutes: float | None = None  # what the kiosk told the visitor
    # waiting (for a desk) -> called -> ended | no_show; a transfer makes it wait again
    status: str = "waiting"
    to_desk: str | None = None
    service_day: str = ""
    registered_at: datetime | None = None
    desk: str | None = None
    called_at: datetime | None = None  # the first call: waiting time ends here
    last_called_at: datetime | None = None
    ended_at: datetime | None = None
    satisfaction: Satisfaction | None = None
    questions: dict[str, Question] = field(default_factory=dict)
    erased_at: datetime | None = None  # the first erasure of its personal data


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
        """A call by visit id (the desk knows whom it wants), in any open state."""
        self.check_open()
        self.trigger(self._called(desk, at))

    def call_next(self, desk: str, at: datetime) -> None:
        """Call-next: only a visit still waiting may be taken, so two desks that race
        for it cannot both succeed (the second one's append conflicts or fails here)."""
        if self.state.status != "waiting":
            raise Conflict(f"visit {self.id} is not waiting ({self.state.status})")
        self.trigger(self._called(desk, at))

    def _called(self, desk: str, at: datetime) -> VisitCalled:
        s = self.state
        return VisitCalled(visit_id=self.id, desk=desk, called_at=at, office_id=s.office_id, queue=s.queue)

    def recall(self, desk: str | None, at: datetime) -> None:
        self.check_called()
        desk = desk or self.state.desk or ""
        self.trigger(VisitRecalled(visit_id=self.id, office_id=self.state.office_id, desk=desk, recalled_at=at))

    def mark_no_show(self, desk: str | None, at: datetime) -> None:
        self.check_called()
        s = self.state
        self.trigger(
            VisitMarkedNoShow(
                visit_id=self.id, office_id=s.office_id, desk=desk or s.desk or "", queue=s.queue, marked_at=at
            )
        )

    def transfer(self, queue: str | None, desk: str | None, by_desk: str | None, at: datetime) -> None:
        """Wait again: in ``queue`` (default: the same queue) or for one ``desk``."""
        self.check_open()
        s = self.state
        self.trigger(
            VisitTransferred(
                visit_id=self.id, office_id=s.office_id, from_queue=s.queue, to_queue=queue or s.queue,
                to_desk=desk, by_desk=by_desk or s.desk, transferred_at=at,
            )
        )

    def check_called(self) -> None:
        self.check_open()
        if self.state.status != "called":
            raise Conflict(f"visit {self.id} has not been called ({self.state.status})")

    def check_takes_question(self, personal_identity_number: bool) -> None:
        """Whether a question (with an identity number, if so) may be recorded now: the
        visit is open, and an identity number only while its personal data is not erased
        (the key that would seal it is gone, and must stay gone)."""
        self.check_open()
        if personal_identity_number and self.state.erased_at is not None:
            raise PersonalDataErasedError(
                f"the personal data of visit {self.id} was erased: it takes no identity number again; "
                "record the question without one, or register a new visit",
                {"erased_at": self.state.erased_at.isoformat()},
            )

    def record_question(self, event: QuestionRecorded) -> None:
        self.check_takes_question(event.personal_identity_number is not None)
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
            raise Conflict(f"visit {self.id} has ended ({self.state.status})")

    def apply(self, event: DomainEvent) -> None:
        s = self.state
        match event:
            case VisitRegistered():
                s.office_id, s.channel, s.agency = event.office_id, event.channel, event.agency
                s.ticket, s.service_day = event.ticket, event.service_day
                s.registered_at, s.queue = event.registered_at, event.queue
                s.estimated_wait_minutes = event.estimated_wait_minutes
            case VisitCalled():
                s.desk, s.status, s.to_desk = event.desk, "called", None
                s.called_at = s.called_at or event.called_at
                s.last_called_at = event.called_at
            case VisitRecalled():
                s.desk = event.desk
            case VisitTransferred():
                s.queue, s.to_desk, s.status = event.to_queue, event.to_desk, "waiting"
            case VisitMarkedNoShow():
                s.status, s.ended_at = "no_show", event.marked_at
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
                s.ended_at, s.satisfaction, s.status = event.ended_at, event.satisfaction, "ended"
            case PersonalDataErased():
                s.erased_at = s.erased_at or event.erased_at
                for question in s.questions.values():
                    question.has_personal_identity_number = False


@dataclass
class DeskState:
    open: bool = False
    queues: tuple[str, ...] = ()
    handler: str = ""


class Desk(Aggregate):
    """A service point of an office. Stream ``desk:<office_id>:<desk>``."""

    state: DeskState

    def init_state(self) -> None:
        self.state = DeskState()

    @staticmethod
    def stream_id(office_id: str, desk: str) -> str:
        return f"desk:{office_id}:{desk}"

    def open(self, office_id: str, desk: str, queues: list[str], handler: str, at: datetime) -> None:
        """Open, or change the work profile of an open desk."""
        self.trigger(DeskOpened(office_id=office_id, desk=desk, queues=queues, handler=handler, opened_at=at))

    def close(self, office_id: str, desk: str, at: datetime) -> bool:
        """False when it was not open (closing twice changes nothing)."""
        if not self.state.open:
            return False
        self.trigger(DeskClosed(office_id=office_id, desk=desk, closed_at=at))
        return True

    def apply(self, event: DomainEvent) -> None:
        match event:
            case DeskOpened():
                self.state = DeskState(True, tuple(event.queues), event.handler)
            case DeskClosed():
                self.state = DeskState()


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
