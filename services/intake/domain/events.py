"""Every event intake records (topic ``servicekontor.intake.events``)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from shared.events import DomainEvent

Channel = Literal["kiosk", "desk"]
Outcome = Literal["answered", "forwarded", "referred"]


class IntakeEvent(DomainEvent):
    producer = "intake"


class Satisfaction(BaseModel):
    """The three survey questions: good treatment, answer in reasonable time, got help."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    treatment: int
    time: int
    got_help: bool


class VisitRegistered(IntakeEvent):
    visit_id: str
    office_id: str
    channel: Channel
    agency: str | None
    ticket: str
    service_day: str
    registered_at: datetime


class VisitCalled(IntakeEvent):
    visit_id: str
    desk: str
    called_at: datetime


class QuestionRecorded(IntakeEvent):
    """``text`` is already scrubbed of identity numbers, phone numbers and e-mail
    addresses; the identity number, when given, travels only in its own field."""

    visit_id: str
    question_id: str
    office_id: str
    text: str
    agency: str | None
    case_type: str | None
    personal_identity_number: str | None
    recorded_at: datetime


class QuestionResolved(IntakeEvent):
    visit_id: str
    question_id: str
    outcome: Outcome
    note: str | None
    resolved_at: datetime


class VisitEnded(IntakeEvent):
    visit_id: str
    satisfaction: Satisfaction | None
    ended_at: datetime


class PersonalDataErased(IntakeEvent):
    """The visit's data key was destroyed: its sealed identity numbers are unreadable
    everywhere from now on (crypto-shredding). Who did it, and when."""

    visit_id: str
    actor: str
    erased_at: datetime
