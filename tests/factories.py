"""Test event factories: one function per published event (``shared.contracts``), plus
the envelope it travels in and small id and time helpers.

Each factory returns a valid event with sensible defaults: a real office of
shared/data/offices.yaml (``OFFICE``), real agency and case type codes of
shared/data/catalog.yaml, times on one service day (``at``), fresh ids. Every field can
be given by keyword; give ``visit_id`` and ``question_id`` to tie events into one story.
A test names the values it asserts on itself and leaves the rest to the defaults::

    vid = new_id()
    events = [visit_registered(visit_id=vid), visit_called(visit_id=vid, called_at=at(12.5))]
    envelopes(events)  # wrapped, with rising versions per stream
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from shared.contracts.agency_gateway import (
    AgencyCaseUpdated,
    CaseDeadLettered,
    CaseForwarded,
    CaseForwardingFailed,
    CaseQueuedForDelivery,
    DeadLetterReplayed,
)
from shared.contracts.intake import (
    DeskClosed,
    DeskOpened,
    PersonalDataErased,
    QuestionRecorded,
    QuestionResolved,
    Satisfaction,
    VisitCalled,
    VisitEnded,
    VisitMarkedNoShow,
    VisitRecalled,
    VisitRegistered,
    VisitTransferred,
)
from shared.contracts.routing import (
    CaseRoutedToAgency,
    ClassificationOverridden,
    QuestionClassified,
)
from shared.events import DomainEvent, EventEnvelope

E = TypeVar("E", bound=DomainEvent)

# Piteå: general service, self-service and booked meetings, no agency desks, no ID cards;
# a complex ID-card question from here goes to Skatteverket's own system.
OFFICE = "pitea"
DAY = "2026-12-02"  # a Wednesday
TZ = ZoneInfo("Europe/Stockholm")  # the offices' time zone: the service day is local


def new_id() -> str:
    return str(uuid.uuid4())


def ids(of: DomainEvent | EventEnvelope | None = None) -> dict[str, str]:
    """``visit_id`` and ``question_id`` to spread into a factory's keywords: fresh ones,
    or those of an event or envelope ``of`` the same question."""
    if of is None:
        return {"visit_id": new_id(), "question_id": new_id()}
    fields = of.payload if isinstance(of, EventEnvelope) else of.model_dump()
    return {"visit_id": fields["visit_id"], "question_id": fields["question_id"]}


def at(minutes: float = 0, day: str = DAY) -> datetime:
    """``minutes`` after 08:00 UTC (09:00 in Stockholm in winter) on ``day``."""
    return datetime.fromisoformat(day).replace(hour=8, tzinfo=UTC) + timedelta(minutes=minutes)


def _make(cls: type[E], defaults: dict[str, Any], overrides: dict[str, Any]) -> E:
    return cls(**(defaults | overrides))


def _case_type(overrides: dict[str, Any], agency: str, case_type: str) -> str:
    """The default case type: ``case_type`` of the default ``agency``; for another agency
    its ``ovrigt`` (every agency of the catalog has one)."""
    return case_type if overrides.get("agency", agency) == agency else "ovrigt"


def _destination(level: str) -> str:
    return "agency_system" if level == "complex" else "office"


# intake ------------------------------------------------------------------------------


def visit_registered(**overrides: Any) -> VisitRegistered:
    """The service day follows ``registered_at`` (local date) unless given."""
    registered_at = overrides.get("registered_at", at(0))
    defaults = {
        "visit_id": new_id(), "office_id": OFFICE, "channel": "kiosk", "agency": None, "ticket": "A001",
        "service_day": registered_at.astimezone(TZ).date().isoformat(), "registered_at": registered_at,
        "queue": "general",
    }
    return _make(VisitRegistered, defaults, overrides)


def visit_called(**overrides: Any) -> VisitCalled:
    defaults = {"visit_id": new_id(), "desk": "1", "called_at": at(10), "office_id": OFFICE, "queue": "general"}
    return _make(VisitCalled, defaults, overrides)


def visit_recalled(**overrides: Any) -> VisitRecalled:
    defaults = {"visit_id": new_id(), "office_id": OFFICE, "desk": "1", "recalled_at": at(11)}
    return _make(VisitRecalled, defaults, overrides)


def visit_marked_no_show(**overrides: Any) -> VisitMarkedNoShow:
    defaults = {"visit_id": new_id(), "office_id": OFFICE, "desk": "1", "queue": "general", "marked_at": at(12)}
    return _make(VisitMarkedNoShow, defaults, overrides)


def visit_transferred(**overrides: Any) -> VisitTransferred:
    defaults = {
        "visit_id": new_id(), "office_id": OFFICE, "from_queue": "general", "to_queue": "booked",
        "to_desk": None, "by_desk": "1", "transferred_at": at(15),
    }
    return _make(VisitTransferred, defaults, overrides)


def desk_opened(**overrides: Any) -> DeskOpened:
    defaults = {"office_id": OFFICE, "desk": "1", "queues": ["general"], "handler": "h1", "opened_at": at(-30)}
    return _make(DeskOpened, defaults, overrides)


def desk_closed(**overrides: Any) -> DeskClosed:
    return _make(DeskClosed, {"office_id": OFFICE, "desk": "1", "closed_at": at(420)}, overrides)


def question_recorded(**overrides: Any) -> QuestionRecorded:
    defaults = {
        "visit_id": new_id(), "question_id": new_id(), "office_id": OFFICE,
        "text": "Hur ansöker jag om bostadsbidrag?", "agency": None, "case_type": None,
        "personal_identity_number": None, "recorded_at": at(11),
    }
    return _make(QuestionRecorded, defaults, overrides)


def question_resolved(**overrides: Any) -> QuestionResolved:
    defaults = {
        "visit_id": new_id(), "question_id": new_id(), "outcome": "answered", "note": None, "resolved_at": at(20),
    }
    return _make(QuestionResolved, defaults, overrides)


def satisfaction(**overrides: Any) -> Satisfaction:
    return Satisfaction(**({"treatment": 5, "time": 4, "got_help": True} | overrides))


def visit_ended(**overrides: Any) -> VisitEnded:
    return _make(VisitEnded, {"visit_id": new_id(), "satisfaction": None, "ended_at": at(30)}, overrides)


def personal_data_erased(**overrides: Any) -> PersonalDataErased:
    return _make(PersonalDataErased, {"visit_id": new_id(), "actor": "admin", "erased_at": at(60)}, overrides)


# routing -----------------------------------------------------------------------------


def question_classified(**overrides: Any) -> QuestionClassified:
    """A general Försäkringskassan question kept at the office; a ``level="complex"``
    one goes to the agency's system unless ``destination`` is given."""
    level = overrides.get("level", "general")
    case_type = overrides.get("case_type", _case_type(overrides, "forsakringskassan", "bostadsbidrag"))
    defaults = {
        "visit_id": new_id(), "question_id": new_id(), "office_id": OFFICE, "level": level,
        "agency": "forsakringskassan", "case_type": case_type, "confidence": 0.9,
        "explanation": f"Mentions {case_type}.", "destination": _destination(level), "needs_review": False,
        "model_version": "rules-1", "classified_at": at(12),
    }
    return _make(QuestionClassified, defaults, overrides)


def case_routed_to_agency(**overrides: Any) -> CaseRoutedToAgency:
    """An ID-card question on its way to Skatteverket's system (Piteå takes none)."""
    defaults = {
        "visit_id": new_id(), "question_id": new_id(), "office_id": OFFICE, "agency": "skatteverket",
        "case_type": _case_type(overrides, "skatteverket", "id_kort"), "text": "Jag vill ansöka om id-kort", "personal_identity_number": None,
        "destination": "agency_system", "routed_at": at(12),
    }
    return _make(CaseRoutedToAgency, defaults, overrides)


def classification_overridden(**overrides: Any) -> ClassificationOverridden:
    level = overrides.get("level", "in_depth")
    defaults = {
        "visit_id": new_id(), "question_id": new_id(), "office_id": OFFICE, "previous_level": "general",
        "previous_agency": "forsakringskassan", "previous_case_type": "bostadsbidrag", "level": level,
        "agency": "forsakringskassan", "case_type": _case_type(overrides, "forsakringskassan", "foraldrapenning"),
        "destination": _destination(level),
        "reason": "asked about VAB", "handler": "h1", "overridden_at": at(13),
    }
    return _make(ClassificationOverridden, defaults, overrides)


# agency_gateway ----------------------------------------------------------------------


def _gateway() -> dict[str, Any]:
    return {"visit_id": new_id(), "question_id": new_id(), "agency": "skatteverket"}


def case_queued_for_delivery(**overrides: Any) -> CaseQueuedForDelivery:
    case_type = _case_type(overrides, "skatteverket", "id_kort")
    defaults = _gateway() | {"office_id": OFFICE, "case_type": case_type, "queued_at": at(13)}
    return _make(CaseQueuedForDelivery, defaults, overrides)


def case_forwarded(**overrides: Any) -> CaseForwarded:
    defaults = _gateway() | {"agency_reference": "SKV-1", "attempt": 1, "forwarded_at": at(14)}
    return _make(CaseForwarded, defaults, overrides)


def case_forwarding_failed(**overrides: Any) -> CaseForwardingFailed:
    defaults = _gateway() | {"attempt": 1, "reason": "HTTP 503", "retry_at": at(15), "failed_at": at(14)}
    return _make(CaseForwardingFailed, defaults, overrides)


def case_dead_lettered(**overrides: Any) -> CaseDeadLettered:
    defaults = _gateway() | {"attempt": 1, "reason": "HTTP 422", "dead_lettered_at": at(14)}
    return _make(CaseDeadLettered, defaults, overrides)


def dead_letter_replayed(**overrides: Any) -> DeadLetterReplayed:
    defaults = _gateway() | {
        "actor": "eva", "reason": None, "previous_error": "HTTP 422", "replayed_at": at(60),
    }
    return _make(DeadLetterReplayed, defaults, overrides)


def agency_case_updated(**overrides: Any) -> AgencyCaseUpdated:
    defaults = _gateway() | {
        "agency_reference": "SKV-1", "status": "received", "note": None, "callback_id": new_id(),
        "agency_updated_at": at(20), "received_at": at(20),
    }
    return _make(AgencyCaseUpdated, defaults, overrides)


# envelopes ---------------------------------------------------------------------------


def stream_of(event: DomainEvent) -> str:
    """The stream the producer records the event in: a desk's, the visit's (intake) or
    the question's (routing's decision, the gateway's delivery)."""
    if isinstance(event, DeskOpened | DeskClosed):
        return f"desk:{event.office_id}:{event.desk}"
    if event.producer == "intake":
        return event.visit_id
    return event.question_id


def envelope(event: DomainEvent, **overrides: Any) -> EventEnvelope:
    """``EventEnvelope.wrap`` in the event's stream (``stream_of``) at version 1;
    ``stream_id``, ``stream_version``, ``correlation_id``, ``causation_id`` and any other
    envelope field (``event_id``, ``occurred_at``) by keyword."""
    wrap = {"stream_id": stream_of(event), "stream_version": 1}
    for key in ("stream_id", "stream_version", "correlation_id", "causation_id"):
        if key in overrides:
            wrap[key] = overrides.pop(key)
    wrapped = EventEnvelope.wrap(event, **wrap)
    return wrapped.model_copy(update=overrides) if overrides else wrapped


def envelopes(events: Iterable[DomainEvent], first_version: int = 1, **overrides: Any) -> list[EventEnvelope]:
    """Each event wrapped, the versions rising from ``first_version`` within each stream
    (within ``stream_id`` when given)."""
    versions: Counter[str] = Counter()
    wrapped = []
    for event in events:
        stream = overrides.get("stream_id") or stream_of(event)
        wrapped.append(envelope(event, **overrides, stream_version=first_version + versions[stream]))
        versions[stream] += 1
    return wrapped


# bookings (issue 16) -----------------------------------------------------------------

from shared.contracts import intake as _calendar  # noqa: E402


def booking_made(**overrides: Any) -> _calendar.BookingMade:
    """A video meeting with Försäkringskassan at Piteå on ``DAY`` at 13:00 local, booked
    a week before at the desk, with an identity number, name and phone (sealed in real
    events: reporting must drop them)."""
    defaults = {
        "booking_id": new_id(), "office_id": OFFICE, "agency": "forsakringskassan",
        "case_type": "foraldrapenning", "kind": "video", "slot_start": at(240), "length_minutes": 30,
        "room": "video-1", "channel": "desk", "question_id": None, "visit_id": None,
        "personal_identity_number": "198112189876", "contact_name": "Ada Andersson",
        "contact_phone": "0701234567", "booked_by": "handlaggare-1", "booked_at": at(240) - timedelta(days=7),
        "person_pseudonym": "p" * 64,
    }
    return _make(_calendar.BookingMade, defaults, overrides)


def _booking(of: _calendar.BookingMade | None, overrides: dict[str, Any]) -> dict[str, Any]:
    if of is None:
        return {"booking_id": overrides.pop("booking_id", new_id()), "office_id": overrides.pop("office_id", OFFICE)}
    return {"booking_id": of.booking_id, "office_id": of.office_id}


def booking_moved(of: _calendar.BookingMade | None = None, **overrides: Any) -> _calendar.BookingMoved:
    start = of.slot_start if of else at(240)
    defaults = {**_booking(of, overrides), "from_start": start, "slot_start": start + timedelta(days=1),
                "room": of.room if of else None, "moved_by": "agency", "moved_at": at(0)}
    return _make(_calendar.BookingMoved, defaults, overrides)


def booking_cancelled(of: _calendar.BookingMade | None = None, **overrides: Any) -> _calendar.BookingCancelled:
    defaults = {**_booking(of, overrides), "cancelled_by": "visitor", "reason": "Kan inte komma",
                "cancelled_at": at(0)}
    return _make(_calendar.BookingCancelled, defaults, overrides)


def booking_checked_in(of: _calendar.BookingMade | None = None, **overrides: Any) -> _calendar.BookingCheckedIn:
    start = of.slot_start if of else at(240)
    defaults = {**_booking(of, overrides), "visit_id": new_id(), "checked_in_at": start - timedelta(minutes=10)}
    return _make(_calendar.BookingCheckedIn, defaults, overrides)


def booking_no_show(of: _calendar.BookingMade | None = None, **overrides: Any) -> _calendar.BookingNoShow:
    start = of.slot_start if of else at(240)
    defaults = {**_booking(of, overrides), "marked_at": start + timedelta(minutes=15)}
    return _make(_calendar.BookingNoShow, defaults, overrides)


def meeting_outcome_recorded(of: _calendar.BookingMade | None = None, **overrides: Any) -> _calendar.MeetingOutcomeRecorded:
    start = of.slot_start if of else at(240)
    defaults = {**_booking(of, overrides), "outcome": "held", "note": None,
                "recorded_at": start + timedelta(minutes=35)}
    return _make(_calendar.MeetingOutcomeRecorded, defaults, overrides)


def video_rooms_declared(**overrides: Any) -> _calendar.VideoRoomsDeclared:
    defaults = {"office_id": OFFICE, "rooms": ["video-1", "video-2"], "declared_by": "admin",
                "declared_at": at(-60 * 24 * 30)}
    return _make(_calendar.VideoRoomsDeclared, defaults, overrides)


def slots_published(**overrides: Any) -> _calendar.SlotsPublished:
    defaults = {"publication_id": new_id(), "agency": "forsakringskassan", "case_types": ["foraldrapenning"],
                "kind": "video", "office_ids": [OFFICE], "starts": [at(240)], "length_minutes": 30,
                "source": "office", "published_by": "admin", "published_at": at(-60 * 24 * 14)}
    return _make(_calendar.SlotsPublished, defaults, overrides)


def booking_envelope(event: DomainEvent, **overrides: Any) -> EventEnvelope:
    """``envelope`` for the calendar's and bookings' events, in their own streams
    (``booking:<id>``, ``rooms:<office>``, ``slots:<agency>``)."""
    payload = event.model_dump()
    stream = (f"booking:{payload['booking_id']}" if "booking_id" in payload
              else f"slots:{payload['agency']}" if "publication_id" in payload else f"rooms:{payload['office_id']}")
    wrapped = EventEnvelope.wrap(event, stream_id=overrides.pop("stream_id", stream),
                                 stream_version=overrides.pop("stream_version", 1))
    return wrapped.model_copy(update=overrides) if overrides else wrapped
