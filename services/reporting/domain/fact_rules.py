"""The fold: how each event changes the fact records. Pure and framework-free.

One function per event type, working on the event's JSON payload (the envelope's own
``payload``), so the live consumer (one event, records loaded from the store) and the
replay (millions of events, records in memory) apply exactly the same rules. Every rule is
idempotent and, across topics, order-free: a duplicate changes nothing, and any
interleaving of the three topics gives the same records. Free text (question text,
notes, reasons, handler names) and identity numbers are never read.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from services.reporting.domain.model import (
    QuestionRecord,
    VisitRecord,
    as_utc,
    earliest,
    is_newer,
    next_delivery_status,
)
from shared.personal_data import scrub_text

Payload = dict[str, Any]


class Records(Protocol):
    tz: ZoneInfo

    def visit(self, visit_id: str) -> VisitRecord:
        """The visit's record, created empty when no event has named it yet."""

    def question(self, visit_id: str, question_id: str) -> QuestionRecord:
        """The question's record, created empty when no event has named it yet."""


def ts(value: str | datetime) -> datetime:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return as_utc(moment)  # type: ignore[return-value]


def day_of(moment: datetime, tz: ZoneInfo) -> str:
    return moment.astimezone(tz).date().isoformat()


def visit_registered(p: Payload, r: Records) -> None:
    v, at = r.visit(p["visit_id"]), ts(p["registered_at"])
    v.office_id, v.channel, v.agency_hint = p["office_id"], p["channel"], p.get("agency")
    local = at.astimezone(r.tz)
    v.registered_at, v.service_day = at, local.date().isoformat()
    v.registered_hour, v.registered_weekday = local.hour, local.isoweekday()
    v.update_durations()


def visit_called(p: Payload, r: Records) -> None:
    v = r.visit(p["visit_id"])
    v.called_at = earliest(v.called_at, ts(p["called_at"]))
    v.update_durations()


def visit_ended(p: Payload, r: Records) -> None:
    v = r.visit(p["visit_id"])
    v.ended_at = ts(p["ended_at"])
    survey = p.get("satisfaction")
    if survey is not None:
        v.satisfaction_treatment, v.satisfaction_time = survey["treatment"], survey["time"]
        v.satisfaction_got_help = survey["got_help"]
    v.update_durations()


def question_recorded(p: Payload, r: Records) -> None:
    """Intake owns where and when a question was asked: its office and day overwrite
    what an earlier-arriving routing or gateway event filled in."""
    q, at = r.question(p["visit_id"], p["question_id"]), ts(p["recorded_at"])
    q.office_id, q.service_day, q.recorded_at = p["office_id"], day_of(at, r.tz), at
    q.hint_agency, q.hint_case_type = p.get("agency"), p.get("case_type")


def question_resolved(p: Payload, r: Records) -> None:
    r.question(p["visit_id"], p["question_id"]).outcome = p["outcome"]


def question_classified(p: Payload, r: Records) -> None:
    """The latest classification is the classifier's answer; a handler's override
    stands against it, whichever arrives first."""
    q, at = r.question(p["visit_id"], p["question_id"]), ts(p["classified_at"])
    q.place(p["office_id"], day_of(at, r.tz))
    if not is_newer(q.classified_at, at):
        return
    q.classified_at = at
    q.classified_level, q.classified_agency = p["level"], p["agency"]
    q.classified_case_type = p["case_type"]
    q.confidence, q.needs_review = p["confidence"], p["needs_review"]
    if not q.overridden:
        q.level, q.agency, q.case_type = p["level"], p["agency"], p["case_type"]
        q.destination = p["destination"]


def classification_overridden(p: Payload, r: Records) -> None:
    q, at = r.question(p["visit_id"], p["question_id"]), ts(p["overridden_at"])
    q.place(p["office_id"], day_of(at, r.tz))
    if q.classified_level is None:  # the classification itself has not arrived yet
        q.classified_level, q.classified_agency = p["previous_level"], p["previous_agency"]
        q.classified_case_type = p["previous_case_type"]
    if not is_newer(q.overridden_at, at):
        return
    q.level, q.agency, q.case_type = p["level"], p["agency"], p["case_type"]
    q.destination, q.overridden, q.overridden_at = p["destination"], True, at


def case_routed_to_agency(p: Payload, r: Records) -> None:
    q, at = r.question(p["visit_id"], p["question_id"]), ts(p["routed_at"])
    q.place(p["office_id"], day_of(at, r.tz))
    q.agency, q.case_type = q.agency or p["agency"], q.case_type or p["case_type"]
    q.destination = q.destination or p["destination"]
    q.routed_at = at
    q.update_forwarding()


def _delivery(p: Payload, r: Records, status: str, attempt: int) -> QuestionRecord:
    q = r.question(p["visit_id"], p["question_id"])
    q.agency = q.agency or p["agency"]
    q.delivery_status = next_delivery_status(q.delivery_status, q.delivery_attempts, status, attempt)
    q.delivery_attempts = max(q.delivery_attempts, attempt)
    return q


def case_queued(p: Payload, r: Records) -> None:
    q, at = _delivery(p, r, "pending", 0), ts(p["queued_at"])
    q.place(p["office_id"], day_of(at, r.tz))
    q.case_type = q.case_type or p["case_type"]
    q.queued_at = at
    q.update_forwarding()


def case_forwarded(p: Payload, r: Records) -> None:
    q = _delivery(p, r, "delivered", p["attempt"])
    q.agency_reference = scrub_text(p["agency_reference"])[:200]
    q.forwarded_at = ts(p["forwarded_at"])
    q.update_forwarding()


def case_forwarding_failed(p: Payload, r: Records) -> None:
    _delivery(p, r, "failed", p["attempt"]).update_forwarding()


def case_dead_lettered(p: Payload, r: Records) -> None:
    q = _delivery(p, r, "dead_lettered", p["attempt"])
    q.dead_lettered_at = ts(p["dead_lettered_at"])
    q.update_forwarding()


APPLIERS: dict[str, Callable[[Payload, Records], None]] = {
    "intake.VisitRegistered": visit_registered,
    "intake.VisitCalled": visit_called,
    "intake.QuestionRecorded": question_recorded,
    "intake.QuestionResolved": question_resolved,
    "intake.VisitEnded": visit_ended,
    "routing.QuestionClassified": question_classified,
    "routing.CaseRoutedToAgency": case_routed_to_agency,
    "routing.ClassificationOverridden": classification_overridden,
    "gateway.CaseQueuedForDelivery": case_queued,
    "gateway.CaseForwarded": case_forwarded,
    "gateway.CaseForwardingFailed": case_forwarding_failed,
    "gateway.CaseDeadLettered": case_dead_lettered,
}
