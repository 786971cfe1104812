"""The routing decision aggregate: one stream per question.

A question is classified once. A complex question is routed to its agency at the same
time (``CaseRoutedToAgency``). A handler may override with a reason; an override that
makes a question complex routes it then. A general or in-depth question that the office
resolves as ``forwarded`` (it took in documents or information for the agency) is routed
to the agency's system then. A case is never routed twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from services.routing.domain.classifier import Classification
from services.routing.domain.destination import Route
from services.routing.domain.events import (
    CaseRoutedToAgency,
    ClassificationOverridden,
    QuestionClassified,
)
from shared.aggregate import Aggregate
from shared.errors import Conflict, NotFound
from shared.events import DomainEvent


def destination_for(level: str) -> Route:
    """Where a question goes when no office registry is at hand: complex questions to the
    agency's own system, the rest stay at the office. ``domain.destination.Router``
    refines this from what the office offers."""
    if level == "complex":
        return Route("agency_system", "The agency takes the case in its own system.")
    return Route("office", "Handled at the office by its service handler.")


@dataclass(frozen=True)
class QuestionFacts:
    visit_id: str
    question_id: str
    office_id: str
    text: str
    personal_identity_number: str | None


@dataclass
class DecisionState:
    visit_id: str = ""
    office_id: str = ""
    level: str = ""
    agency: str = ""
    case_type: str = ""
    confidence: float = 0.0
    explanation: str = ""
    destination: str = ""
    destination_reason: str = ""
    needs_review: bool = False
    model_version: str = ""
    overridden: bool = False
    routed: bool = False
    decided_at: datetime | None = None


class Decision(Aggregate):
    state: DecisionState

    def init_state(self) -> None:
        self.state = DecisionState()

    @classmethod
    def classify(cls, facts: QuestionFacts, result: Classification, at: datetime) -> Decision:
        decision = cls(facts.question_id)
        route = (
            Route(result.destination, result.destination_reason)
            if result.destination
            else destination_for(result.level)
        )
        decision.trigger(
            QuestionClassified(
                visit_id=facts.visit_id,
                question_id=facts.question_id,
                office_id=facts.office_id,
                level=result.level,
                # an unrecognised question has no agency: its event records the fallback
                # codes (the office's lead agency, "ovrigt"), needs_review and says so
                agency=result.recorded[0],
                case_type=result.recorded[1],
                confidence=result.confidence,
                explanation=result.explanation,
                destination=route.destination,
                needs_review=result.needs_review,
                model_version=result.model_version,
                classified_at=at,
                destination_reason=route.reason,
            )
        )
        if result.level == "complex":
            decision.route(facts, at)
        return decision

    def route(self, facts: QuestionFacts, at: datetime, destination: str | None = None) -> None:
        """Send the case to its agency; ``destination`` defaults to the decision's."""
        if self.state.routed:
            raise Conflict(f"question {self.id} is already routed to {self.state.agency}")
        s = self.state
        self.trigger(
            CaseRoutedToAgency(
                visit_id=s.visit_id,
                question_id=self.id,
                office_id=s.office_id,
                agency=s.agency,
                case_type=s.case_type,
                text=facts.text,
                personal_identity_number=facts.personal_identity_number,
                destination=destination or s.destination,
                routed_at=at,
            )
        )

    def forward(self, facts: QuestionFacts, at: datetime) -> bool:
        """The office resolved the question as ``forwarded``: the agency gets the case in
        its own system (the office took in what the visitor brought for it). True when
        this routed it; False when it was already routed (forwarding is idempotent)."""
        if not self.exists:
            raise NotFound(f"question {self.id} has no decision yet")
        if self.state.routed:
            return False
        self.route(facts, at, destination="agency_system")
        return True

    def override(
        self,
        level: str,
        agency: str,
        case_type: str,
        reason: str,
        handler: str,
        at: datetime,
        route: Route | None = None,
        *,
        actor: str = "",
    ) -> bool:
        """Record the handler's decision; return True when the case must now be routed.
        ``route`` is where the overridden question goes (from the office registry)."""
        if not self.exists:
            raise NotFound(f"question {self.id} has no decision yet")
        s = self.state
        if self.state.routed and (agency, case_type) != (s.agency, s.case_type):
            raise Conflict("the case was already sent to its agency; it cannot be re-routed")
        route = route or destination_for(level)
        self.trigger(
            ClassificationOverridden(
                visit_id=s.visit_id,
                question_id=self.id,
                office_id=s.office_id,
                previous_level=s.level,
                previous_agency=s.agency,
                previous_case_type=s.case_type,
                level=level,
                agency=agency,
                case_type=case_type,
                destination=route.destination,
                reason=reason,
                handler=handler,
                actor=actor,
                overridden_at=at,
                destination_reason=route.reason,
            )
        )
        return level == "complex" and not s.routed

    def apply(self, event: DomainEvent) -> None:
        s = self.state
        match event:
            case QuestionClassified():
                s.visit_id, s.office_id = event.visit_id, event.office_id
                s.level, s.agency, s.case_type = event.level, event.agency, event.case_type
                s.confidence, s.explanation = event.confidence, event.explanation
                s.destination, s.needs_review = event.destination, event.needs_review
                s.destination_reason = event.destination_reason
                s.model_version, s.decided_at = event.model_version, event.classified_at
            case CaseRoutedToAgency():
                s.routed = True
            case ClassificationOverridden():
                s.level, s.agency, s.case_type = event.level, event.agency, event.case_type
                s.destination, s.overridden = event.destination, True
                s.destination_reason = event.destination_reason
                s.confidence, s.needs_review = 1.0, False
                s.explanation = f"Overridden by {event.handler}: {event.reason}"
                if event.destination_reason and event.destination != "office":
                    s.explanation += f" Destination {event.destination}: {event.destination_reason}"
                s.decided_at = event.overridden_at
