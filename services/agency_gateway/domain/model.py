"""The delivery aggregate: one stream per forwarded question (stream id = question id),
and per booking change sent to an agency (``kind`` meeting, meeting_move or
meeting_cancellation; stream id = the delivery id, docs/bookings.md): the same rules, the
meeting events instead of the case events.

Rules: a delivery is queued once; outcomes are recorded only while it is pending or
failed (delivered and dead-lettered are final for the worker); every outcome counts one
attempt. Only a dead-lettered delivery can be replayed, by a named person; the give-up
count starts again after a replay. The agency's status reports are recorded whatever our
side's status is (the agency may report before our outcome is recorded).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from services.agency_gateway.domain.events import (
    AgencyCaseUpdated,
    AgencyMeetingStatus,
    AgencyMeetingUpdated,
    AgencyStatus,
    CaseDeadLettered,
    CaseForwarded,
    CaseForwardingFailed,
    CaseQueuedForDelivery,
    DeadLetterReplayed,
    MeetingDeadLettered,
    MeetingForwarded,
    MeetingForwardingFailed,
    MeetingQueuedForDelivery,
)
from services.agency_gateway.domain.outcomes import (
    Accepted,
    Outcome,
    Rejected,
    RetryPolicy,
    TransientFailure,
)
from shared.aggregate import Aggregate
from shared.errors import Conflict, InvalidInput, NotFound
from shared.events import DomainEvent

Status = Literal["pending", "delivered", "failed", "dead_lettered"]
Kind = Literal["case", "meeting", "meeting_move", "meeting_cancellation"]
KINDS: tuple[Kind, ...] = ("case", "meeting", "meeting_move", "meeting_cancellation")
STATUSES: tuple[Status, ...] = ("pending", "delivered", "failed", "dead_lettered")
OPEN: tuple[Status, ...] = ("pending", "failed")
# How far an agency's clock may differ from ours: its status update may be stamped at
# most this much before the case was queued here, or after our now (checked at the API).
CLOCK_SKEW = timedelta(minutes=5)


@dataclass
class DeliveryState:
    visit_id: str = ""
    office_id: str = ""
    agency: str = ""
    case_type: str = ""
    status: Status = "pending"
    attempts: int = 0
    agency_reference: str | None = None
    last_error: str | None = None
    queued_at: datetime | None = None
    retry_at: datetime | None = None
    delivered_at: datetime | None = None
    round_start: int = 0  # attempts made before the last replay
    replays: int = 0
    agency_status: AgencyStatus | None = None
    agency_status_at: datetime | None = None
    kind: Kind = "case"
    booking_id: str | None = None
    meeting_status: AgencyMeetingStatus | None = None


class Delivery(Aggregate):
    state: DeliveryState

    def init_state(self) -> None:
        self.state = DeliveryState()

    @classmethod
    def queue(cls, event: CaseQueuedForDelivery | MeetingQueuedForDelivery) -> Delivery:
        stream = event.question_id if isinstance(event, CaseQueuedForDelivery) else event.delivery_id
        delivery = cls(stream)
        delivery.trigger(event)
        return delivery

    @property
    def is_final(self) -> bool:
        return self.state.status not in OPEN

    def record(self, outcome: Outcome, at: datetime, policy: RetryPolicy, rand: float) -> None:
        """Record one attempt's outcome; ``rand`` in [0, 1) is the jitter draw."""
        self.check_open()
        attempt = self.state.attempts + 1
        match outcome:
            case Accepted(reference):
                self.trigger(
                    self._event(
                        CaseForwarded, MeetingForwarded,
                        agency_reference=reference, attempt=attempt, forwarded_at=at,
                    )
                )
            case Rejected(reason):
                self._dead_letter(attempt, reason, at)
            case TransientFailure(reason, retry_after):
                gives_up = policy.gives_up(attempt - self.state.round_start)
                delay = timedelta(seconds=policy.delay(attempt, rand, retry_after))
                self.trigger(
                    self._event(
                        CaseForwardingFailed,
                        MeetingForwardingFailed,
                        attempt=attempt,
                        reason=reason,
                        retry_at=None if gives_up else at + delay,
                        failed_at=at,
                    )
                )
                if gives_up:
                    self._dead_letter(attempt, f"gave up after {attempt} attempts: {reason}", at)

    def replay(self, actor: str, reason: str | None, at: datetime) -> None:
        """Send a dead-lettered case again, now, with the same Idempotency-Key."""
        if not self.exists:
            raise NotFound(f"no delivery {self.id}")
        if self.state.status != "dead_lettered":
            raise Conflict(f"delivery {self.id} is {self.state.status}, not dead_lettered")
        self.trigger(
            DeadLetterReplayed(
                **self._ids(),
                actor=actor,
                reason=reason,
                previous_error=self.state.last_error,
                replayed_at=at,
            )
        )

    def agency_update(self, update: AgencyCaseUpdated) -> None:
        """An agency's update cannot precede the case: one stamped more than CLOCK_SKEW
        before the case was queued here is refused (a wrong clock or a made-up date)."""
        if not self.exists:
            raise NotFound(f"no delivery {self.id}")
        self._check_clock(update.agency_updated_at)
        self.trigger(update)

    def meeting_update(self, update: AgencyMeetingUpdated) -> None:
        """The agency accepted, moved or cancelled the meeting: on the meeting's own
        delivery only, and not stamped before it was queued (as ``agency_update``)."""
        if not self.exists or self.state.kind != "meeting":
            raise NotFound(f"no meeting {self.id}")
        self._check_clock(update.agency_updated_at)
        self.trigger(update)

    def _check_clock(self, updated_at: datetime) -> None:
        queued = self.state.queued_at
        if queued is not None and updated_at < queued - CLOCK_SKEW:
            raise InvalidInput(
                "occurred_at is before the case was sent to the agency",
                {"occurred_at": updated_at.isoformat(), "queued_at": queued.isoformat()},
            )

    def _dead_letter(self, attempt: int, reason: str, at: datetime) -> None:
        self.trigger(
            self._event(
                CaseDeadLettered, MeetingDeadLettered, attempt=attempt, reason=reason, dead_lettered_at=at
            )
        )

    def _event(self, case: type[DomainEvent], meeting: type[DomainEvent], **fields: object) -> DomainEvent:
        """The case's event, or the meeting's for a booking's delivery."""
        if self.state.kind == "case":
            return case(**self._ids(), **fields)
        s = self.state
        return meeting(delivery_id=self.id, booking_id=s.booking_id, kind=s.kind, agency=s.agency, **fields)

    def _ids(self) -> dict[str, str]:
        return {
            "visit_id": self.state.visit_id,
            "question_id": self.id,
            "agency": self.state.agency,
        }

    def check_open(self) -> None:
        if not self.exists:
            raise Conflict(f"no delivery {self.id}")
        if self.is_final:
            raise Conflict(f"delivery {self.id} is already {self.state.status}")

    def apply(self, event: DomainEvent) -> None:
        s = self.state
        match event:
            case CaseQueuedForDelivery():
                s.visit_id, s.office_id = event.visit_id, event.office_id
                s.agency, s.case_type, s.queued_at = event.agency, event.case_type, event.queued_at
            case MeetingQueuedForDelivery():
                s.kind, s.booking_id, s.office_id = event.kind, event.booking_id, event.office_id
                s.agency, s.case_type, s.queued_at = event.agency, event.case_type, event.queued_at
            case CaseForwarded() | MeetingForwarded():
                s.status, s.attempts = "delivered", event.attempt
                s.agency_reference, s.delivered_at = event.agency_reference, event.forwarded_at
                s.retry_at = None
            case CaseForwardingFailed() | MeetingForwardingFailed():
                s.status, s.attempts = "failed", event.attempt
                s.last_error, s.retry_at = event.reason, event.retry_at
            case CaseDeadLettered() | MeetingDeadLettered():
                s.status, s.attempts = "dead_lettered", max(s.attempts, event.attempt)
                s.last_error, s.retry_at = event.reason, None
            case DeadLetterReplayed():
                s.status, s.retry_at = "pending", event.replayed_at
                s.round_start, s.replays = s.attempts, s.replays + 1
            case AgencyCaseUpdated():
                if s.agency_status_at is None or event.agency_updated_at >= s.agency_status_at:
                    s.agency_status, s.agency_status_at = event.status, event.agency_updated_at
                s.agency_reference = s.agency_reference or event.agency_reference
            case AgencyMeetingUpdated():
                s.meeting_status = event.status
                s.agency_reference = s.agency_reference or event.agency_reference


class SlotPublication(Aggregate):
    """One agency's publication of slots (stream ``slots:<publication id>``): recorded
    once; intake owns the calendar they go into."""

    def apply(self, event: DomainEvent) -> None:
        """No state: the stream's existence is the rule (a publication id is used once)."""
