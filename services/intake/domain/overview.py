"""The desk's overview of a visit: what routing decided about each question and where the
gateway's delivery of it stands, kept in intake's own database. Here: its rows, their
repository port and the folds; ``handlers/overview.py`` applies the events, ``views.py``
shapes the rows for the API.

A read model fed by one consumer (``intake``) of the routing and gateway topics. Each
question has two rows: its decision (routing's stream, written only from the routing
topic) and its delivery (the gateway's stream, written only from the gateway topic), so
the two topics never contend for a row and may arrive in any order relative to each
other. Each row remembers the version of its stream it has applied and applies only
later ones: a re-delivered or replayed event changes nothing, and the rows end exactly
as routing's ``Decision`` and the gateway's ``Delivery`` aggregates do (a contract test
folds the same events both ways). Free text is scrubbed again before it is kept: the
overview never holds an identity number (the routed case's is never read).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from shared.contracts.agency_gateway import (
    AgencyCaseUpdated,
    CaseDeadLettered,
    CaseForwarded,
    CaseForwardingFailed,
    CaseQueuedForDelivery,
    DeadLetterReplayed,
)
from shared.contracts.routing import (
    CaseRoutedToAgency,
    ClassificationOverridden,
    QuestionClassified,
)
from shared.events import DomainEvent
from shared.personal_data import scrub_text


@dataclass
class DecisionView:
    """Routing's decision on one question, as the desk sees it."""

    question_id: str
    visit_id: str
    version: int = 0  # the last version of routing's stream applied here
    level: str = ""
    agency: str = ""
    case_type: str = ""
    confidence: float = 0.0
    explanation: str = ""
    destination: str = ""
    destination_reason: str = ""
    needs_review: bool = False
    overridden: bool = False
    classified: bool = False
    routed_agency: str | None = None  # set when the case was sent to its agency


@dataclass
class DeliveryView:
    """The gateway's delivery of one case, and the agency's last reported status."""

    question_id: str
    visit_id: str
    version: int = 0  # the last version of the gateway's stream applied here
    status: str = "pending"
    attempts: int = 0
    agency: str = ""
    agency_reference: str | None = None
    agency_status: str | None = None
    agency_note: str | None = None
    agency_status_at: datetime | None = None


class OverviewRepository(Protocol):
    async def decision(self, question_id: str, visit_id: str) -> DecisionView: ...
    async def delivery(self, question_id: str, visit_id: str) -> DeliveryView: ...
    def save_decision(self, view: DecisionView) -> None: ...
    def save_delivery(self, view: DeliveryView) -> None: ...
    async def of_visit(self, visit_id: str) -> tuple[dict[str, DecisionView], dict[str, DeliveryView]]: ...


def fold_decision(view: DecisionView, event: DomainEvent) -> None:
    """Apply one routing event the way routing's ``Decision`` aggregate does."""
    match event:
        case QuestionClassified():
            view.level, view.agency, view.case_type = event.level, event.agency, event.case_type
            view.confidence, view.explanation = event.confidence, scrub_text(event.explanation)
            view.destination, view.needs_review = event.destination, event.needs_review
            view.destination_reason = scrub_text(event.destination_reason)
            view.classified = True
        case ClassificationOverridden():
            view.level, view.agency, view.case_type = event.level, event.agency, event.case_type
            view.destination, view.overridden = event.destination, True
            view.destination_reason = scrub_text(event.destination_reason)
            view.confidence, view.needs_review = 1.0, False
            explanation = f"Overridden by {event.handler}: {event.reason}"
            if event.destination_reason and event.destination != "office":
                explanation += f" Destination {event.destination}: {event.destination_reason}"
            view.explanation = scrub_text(explanation)
        case CaseRoutedToAgency():
            view.routed_agency = event.agency  # never the text or the identity number


def fold_delivery(view: DeliveryView, event: DomainEvent) -> None:
    """Apply one gateway event the way the gateway's ``Delivery`` aggregate does."""
    match event:
        case CaseQueuedForDelivery():
            view.agency = event.agency
        case CaseForwarded():
            view.status, view.attempts = "delivered", event.attempt
            view.agency_reference = event.agency_reference
        case CaseForwardingFailed():
            view.status, view.attempts = "failed", event.attempt
        case CaseDeadLettered():
            view.status, view.attempts = "dead_lettered", max(view.attempts, event.attempt)
        case DeadLetterReplayed():
            view.status = "pending"
        case AgencyCaseUpdated():
            if view.agency_status_at is None or event.agency_updated_at >= view.agency_status_at:
                view.agency_status, view.agency_status_at = event.status, event.agency_updated_at
                view.agency_note = scrub_text(event.note) if event.note else None
            view.agency_reference = view.agency_reference or event.agency_reference
            view.agency = view.agency or event.agency
