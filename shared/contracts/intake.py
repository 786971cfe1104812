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
    # Keyed hash of the identity number (services/intake/adapters/pseudonym.py): links a person's
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


# --- Meetings with an agency's official (issue 16, docs/bookings.md) -------------------
# video: a video meeting from one of the office's video rooms; in_person: a booked meeting
# at the agency's desk at the office.
MeetingKind = Literal["video", "in_person"]
# Who cancelled or moved a booking: the visitor (kiosk or desk on their behalf), the
# office (a supervisor or administrator), or the agency (a signed callback via the gateway).
BookingActor = Literal["visitor", "office", "agency"]
MeetingOutcome = Literal["held", "agency_absent", "technical_failure", "visitor_left"]


class SlotsPublished(IntakeEvent):
    """Times an agency's official can meet visitors. Each start is one slot of
    ``length_minutes``; a slot offered at several offices is taken by the first booking at
    any of them (it is one official). ``source``: ``office`` (an administrator at intake)
    or ``agency`` (the agency's system through the gateway). Stream: ``slots:<agency>``."""

    publication_id: str
    agency: str
    case_types: list[str]
    kind: MeetingKind
    office_ids: list[str]
    starts: list[datetime]
    length_minutes: int
    source: Literal["office", "agency"]
    published_by: str
    published_at: datetime


class VideoRoomsDeclared(IntakeEvent):
    """The office's video rooms from now on (replaces the earlier list)."""

    office_id: str
    rooms: list[str]
    declared_by: str
    declared_at: datetime


class BookingMade(IntakeEvent):
    """A slot was booked. ``room`` is the video room held for a video meeting. The
    identity number, name and phone, when given, are sealed with the booking's own data
    key (erasable like a visit's); ``person_pseudonym`` links it to the person's visits."""

    booking_id: str
    office_id: str
    agency: str
    case_type: str
    kind: MeetingKind
    slot_start: datetime
    length_minutes: int
    room: str | None
    channel: Literal["kiosk", "desk"]
    question_id: str | None
    visit_id: str | None
    personal_identity_number: str | None
    contact_name: str | None
    contact_phone: str | None
    booked_by: str
    booked_at: datetime
    person_pseudonym: str | None = None


class BookingMoved(IntakeEvent):
    booking_id: str
    office_id: str
    from_start: datetime
    slot_start: datetime
    room: str | None
    moved_by: BookingActor
    moved_at: datetime


class BookingCancelled(IntakeEvent):
    """The slot (and room) is free again. ``reason`` is masked free text."""

    booking_id: str
    office_id: str
    cancelled_by: BookingActor
    reason: str | None
    cancelled_at: datetime


class BookingCheckedIn(IntakeEvent):
    """The visitor arrived with the booking code: ``visit_id`` waits in the office's
    ``booked`` queue, called first from the booked time."""

    booking_id: str
    office_id: str
    visit_id: str
    checked_in_at: datetime


class BookingNoShow(IntakeEvent):
    """Nobody checked in within the grace period after the booked time."""

    booking_id: str
    office_id: str
    marked_at: datetime


class MeetingOutcomeRecorded(IntakeEvent):
    booking_id: str
    office_id: str
    outcome: MeetingOutcome
    note: str | None
    recorded_at: datetime
