"""Every event agency_gateway records (topic ``servicekontor.gateway.events``).

None of them carries the question text or the identity number: those stay in the
gateway's delivery table until they are sent to the responsible agency.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from shared.events import DomainEvent


class GatewayEvent(DomainEvent):
    producer = "gateway"


class CaseQueuedForDelivery(GatewayEvent):
    visit_id: str
    question_id: str
    office_id: str
    agency: str
    case_type: str
    queued_at: datetime


class CaseForwarded(GatewayEvent):
    visit_id: str
    question_id: str
    agency: str
    agency_reference: str
    attempt: int
    forwarded_at: datetime


class CaseForwardingFailed(GatewayEvent):
    visit_id: str
    question_id: str
    agency: str
    attempt: int
    reason: str
    retry_at: datetime | None
    failed_at: datetime


class CaseDeadLettered(GatewayEvent):
    """The agency refused the case for good (a 4xx other than 408/409/425/429), or the
    gateway gave up retrying: the case waits for a person and a replay."""

    visit_id: str
    question_id: str
    agency: str
    attempt: int
    reason: str
    dead_lettered_at: datetime


class DeadLetterReplayed(GatewayEvent):
    """A person sent a dead-lettered case on its way again (after fixing the cause).
    ``actor`` is who did it, as they named themselves."""

    visit_id: str
    question_id: str
    agency: str
    actor: str
    reason: str | None = None
    previous_error: str | None = None
    replayed_at: datetime


AgencyStatus = Literal["received", "in_progress", "decided", "closed"]
AGENCY_STATUSES: tuple[AgencyStatus, ...] = ("received", "in_progress", "decided", "closed")


class AgencyCaseUpdated(GatewayEvent):
    """The agency reported where the case stands (a signed status callback).
    ``note`` is scrubbed of personal data before it is recorded."""

    visit_id: str
    question_id: str
    agency: str
    agency_reference: str | None
    status: AgencyStatus
    note: str | None = None
    callback_id: str
    agency_updated_at: datetime
    received_at: datetime


# --- Meetings (issue 16, docs/bookings.md) -------------------------------------------
AgencyMeetingStatus = Literal["accepted", "moved", "cancelled"]


class AgencySlotsPublished(GatewayEvent):
    """An agency published slots through its signed agency API; intake adds them to the
    offices' calendars (as ``SlotsPublished`` with ``source="agency"``)."""

    publication_id: str
    agency: str
    case_types: list[str]
    kind: Literal["video", "in_person"]
    office_ids: list[str]
    starts: list[datetime]
    length_minutes: int
    received_at: datetime


class AgencyMeetingUpdated(GatewayEvent):
    """The agency accepted, moved or cancelled a booked meeting (a signed callback).
    ``slot_start`` is the new time when ``moved``. ``note`` is scrubbed."""

    booking_id: str
    agency: str
    agency_reference: str | None
    status: AgencyMeetingStatus
    slot_start: datetime | None = None
    note: str | None = None
    callback_id: str
    agency_updated_at: datetime
    received_at: datetime


# --- The gateway's meeting deliveries (issue 16; gateway-private, docs/bookings.md) -------
# A booking's deliveries to the agency's system, as a case's are: ``delivery_id`` is the
# stream (and the Idempotency-Key): the booking id for the meeting itself, a name-based
# UUID of the booking and the change for a move or a cancellation. No personal data.
MeetingDeliveryKind = Literal["meeting", "meeting_move", "meeting_cancellation"]


class MeetingDeliveryEvent(GatewayEvent):
    """Base (not an event itself): which delivery of which booking, to which agency."""

    delivery_id: str
    booking_id: str
    kind: MeetingDeliveryKind
    agency: str


class MeetingQueuedForDelivery(MeetingDeliveryEvent):
    office_id: str
    case_type: str
    queued_at: datetime


class MeetingForwarded(MeetingDeliveryEvent):
    agency_reference: str
    attempt: int
    forwarded_at: datetime


class MeetingForwardingFailed(MeetingDeliveryEvent):
    attempt: int
    reason: str
    retry_at: datetime | None
    failed_at: datetime


class MeetingDeadLettered(MeetingDeliveryEvent):
    attempt: int
    reason: str
    dead_lettered_at: datetime
