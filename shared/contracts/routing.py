"""Every event routing records (topic ``servicekontor.routing.events``)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from shared.events import DomainEvent

Level = Literal["general", "in_depth", "complex"]
# Where a complex question goes: the agency's own system (forwarded by agency_gateway),
# the agency's desk at this office, a video meeting, or a booked meeting. Non-complex
# questions stay with the office's service handler.
Destination = Literal["agency_system", "agency_desk", "video_meeting", "booked_meeting", "office"]


class RoutingEvent(DomainEvent):
    producer = "routing"


class QuestionClassified(RoutingEvent):
    visit_id: str
    question_id: str
    office_id: str
    level: Level
    agency: str
    case_type: str
    confidence: float
    explanation: str
    destination: Destination
    needs_review: bool
    model_version: str
    classified_at: datetime
    # Why the destination (office registry); optional so that events recorded before it
    # existed still load unchanged.
    destination_reason: str = ""


class CaseRoutedToAgency(RoutingEvent):
    """A complex question on its way to the agency. ``text`` is the scrubbed question;
    the identity number goes only to the agency responsible for the case."""

    visit_id: str
    question_id: str
    office_id: str
    agency: str
    case_type: str
    text: str
    personal_identity_number: str | None
    destination: Destination
    routed_at: datetime


class ClassificationOverridden(RoutingEvent):
    visit_id: str
    question_id: str
    office_id: str
    previous_level: Level
    previous_agency: str
    previous_case_type: str
    level: Level
    agency: str
    case_type: str
    destination: Destination
    reason: str
    handler: str
    overridden_at: datetime
    actor: str = ""  # the authenticated subject (token) that made the override
    destination_reason: str = ""
