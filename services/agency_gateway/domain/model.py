"""The delivery aggregate: one stream per forwarded question (stream id = question id).

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
    AgencyStatus,
    CaseDeadLettered,
    CaseForwarded,
    CaseForwardingFailed,
    CaseQueuedForDelivery,
    DeadLetterReplayed,
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


class Delivery(Aggregate):
    state: DeliveryState

    def init_state(self) -> None:
        self.state = DeliveryState()

    @classmethod
    def queue(cls, event: CaseQueuedForDelivery) -> Delivery:
        delivery = cls(event.question_id)
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
                    CaseForwarded(
                        **self._ids(), agency_reference=reference, attempt=attempt, forwarded_at=at
                    )
                )
            case Rejected(reason):
                self._dead_letter(attempt, reason, at)
            case TransientFailure(reason, retry_after):
                gives_up = policy.gives_up(attempt - self.state.round_start)
                delay = timedelta(seconds=policy.delay(attempt, rand, retry_after))
                self.trigger(
                    CaseForwardingFailed(
                        **self._ids(),
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
        queued = self.state.queued_at
        if queued is not None and update.agency_updated_at < queued - CLOCK_SKEW:
            raise InvalidInput(
                "occurred_at is before the case was sent to the agency",
                {"occurred_at": update.agency_updated_at.isoformat(), "queued_at": queued.isoformat()},
            )
        self.trigger(update)

    def _dead_letter(self, attempt: int, reason: str, at: datetime) -> None:
        self.trigger(
            CaseDeadLettered(**self._ids(), attempt=attempt, reason=reason, dead_lettered_at=at)
        )

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
            case CaseForwarded():
                s.status, s.attempts = "delivered", event.attempt
                s.agency_reference, s.delivered_at = event.agency_reference, event.forwarded_at
                s.retry_at = None
            case CaseForwardingFailed():
                s.status, s.attempts = "failed", event.attempt
                s.last_error, s.retry_at = event.reason, event.retry_at
            case CaseDeadLettered():
                s.status, s.attempts = "dead_lettered", max(s.attempts, event.attempt)
                s.last_error, s.retry_at = event.reason, None
            case DeadLetterReplayed():
                s.status, s.retry_at = "pending", event.replayed_at
                s.round_start, s.replays = s.attempts, s.replays + 1
            case AgencyCaseUpdated():
                if s.agency_status_at is None or event.agency_updated_at >= s.agency_status_at:
                    s.agency_status, s.agency_status_at = event.status, event.agency_updated_at
                s.agency_reference = s.agency_reference or event.agency_reference
