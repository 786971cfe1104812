"""Every event intake records (topic ``servicekontor.intake.events``)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from shared.events import DomainEvent

# kiosk: a ticket from the kiosk; desk: registered by a handler; self_service: a visitor
# at a customer workstation (*kundarbetsplats*) for digital self-service.
Channel = Literal["kiosk", "desk", "self_service"]
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
    """A visitor took a ticket in ``queue`` (a queue code of the office registry).
    ``queue`` defaults to the general queue for events recorded before queues existed."""

    visit_id: str
    office_id: str
    channel: Channel
    agency: str | None
    ticket: str
    service_day: str
    registered_at: datetime
    queue: str = "general"
    # The wait the kiosk showed (minutes; None: no desk open, or recorded before estimates).
    estimated_wait_minutes: float | None = None


class VisitCalled(IntakeEvent):
    """A desk called the visitor (call-next, or a call by visit id). ``office_id`` and
    ``queue`` are empty on events recorded before queues existed."""

    visit_id: str
    desk: str
    called_at: datetime
    office_id: str = ""
    queue: str = ""


class VisitRecalled(IntakeEvent):
    """The desk called the same visitor again (shown again on the display)."""

    visit_id: str
    office_id: str
    desk: str
    recalled_at: datetime


class VisitMarkedNoShow(IntakeEvent):
    """The called visitor did not come to the desk: the visit ends without service."""

    visit_id: str
    office_id: str
    desk: str
    queue: str
    marked_at: datetime


class VisitTransferred(IntakeEvent):
    """The visit waits again, in another queue or for one desk. It keeps its place by
    its original arrival time (Qmatic's "sorted by waiting time")."""

    visit_id: str
    office_id: str
    from_queue: str
    to_queue: str
    to_desk: str | None
    by_desk: str | None
    transferred_at: datetime


class DeskOpened(IntakeEvent):
    """A service point opened with its work profile: the queues it calls from, in order.
    Stream: ``desk:<office_id>:<desk>``."""

    office_id: str
    desk: str
    queues: list[str]
    handler: str
    opened_at: datetime


class DeskClosed(IntakeEvent):
    office_id: str
    desk: str
    closed_at: datetime


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
    # Keyed hash of the identity number (services/intake/pseudonym.py): links a person's
    # visits for reporting without the number. None: no identity number given.
    person_pseudonym: str | None = None


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
