"""A booked meeting with an agency's official (docs/bookings.md): the ``Booking``
aggregate (stream = the booking id, which is also the data key of its sealed personal
data) and its pure rules: the booking code, when check-in opens, when it is a no-show.

Statuses: ``booked`` → ``checked_in`` → ``held`` (any outcome recorded); ``booked`` →
``cancelled`` (by the visitor, the office or the agency) or ``no_show``. A move keeps the
booking ``booked`` (``moved`` while the agency moved it and nobody checked in yet)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from services.intake.domain.calendar import utc
from services.intake.domain.events import (
    BookingActor,
    BookingCancelled,
    BookingCheckedIn,
    BookingMade,
    BookingMoved,
    BookingNoShow,
    MeetingOutcomeRecorded,
    PersonalDataErased,
)
from shared.aggregate import Aggregate
from shared.auth import Forbidden
from shared.errors import Conflict, InvalidInput, NotFound
from shared.events import DomainEvent

CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: read aloud, typed at a kiosk
CODE_LENGTH = 6
CHECK_IN_OPENS = timedelta(minutes=30)  # before the booked time
OPEN = ("booked", "moved")


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(code: str) -> str:
    return code.strip().upper().replace("-", "").replace(" ", "")


class NotBookable(InvalidInput):
    """No published slot matches, or the case type is not in the catalog (422)."""

    code = "not_bookable"


class SlotTaken(Conflict):
    code = "slot_taken"


class NoRoomFree(Conflict):
    code = "no_room_free"


class TooEarly(Conflict):
    code = "too_early"


class NotSelfService(Forbidden):
    """A kiosk books only case types marked ``self_booking`` (403)."""

    code = "not_self_service"


class ClaimLost(Conflict):
    """Another booking claimed the slot, the room or the code first (its transaction
    committed before ours): look again."""

    code = "slot_taken"


class BookingClosed(Conflict):
    code = "booking_closed"


@dataclass(frozen=True)
class Move:
    from_start: datetime
    slot_start: datetime
    room: str | None
    moved_by: BookingActor
    moved_at: datetime


@dataclass
class BookingState:
    office_id: str = ""
    agency: str = ""
    case_type: str = ""
    kind: str = ""
    slot_start: datetime | None = None
    length_minutes: int = 0
    room: str | None = None
    channel: str = ""
    question_id: str | None = None
    visit_id: str | None = None  # the visit it was booked for; after check-in the visit made then
    booked_for_visit: str | None = None  # the visit it was booked for (a desk's), kept after check-in
    checked_in_visit: str | None = None  # the visit check-in made (its ticket in the booked queue)
    status: str = "new"
    booked_at: datetime | None = None
    has_identity_number: bool = False
    has_name: bool = False
    has_phone: bool = False
    moves: list[Move] = field(default_factory=list)
    cancelled_by: str | None = None
    outcome: str | None = None
    erased: bool = False


class Booking(Aggregate):
    state: BookingState

    def init_state(self) -> None:
        self.state = BookingState()

    @classmethod
    def make(cls, event: BookingMade) -> Booking:
        booking = cls(event.booking_id)
        booking.trigger(event)
        return booking

    @property
    def is_open(self) -> bool:
        return self.state.status in OPEN

    def cancel(self, by: BookingActor, reason: str | None, at: datetime) -> bool:
        """False when already cancelled (cancelling again changes nothing); a booking
        checked in, held or a no-show cannot be cancelled (409)."""
        if self.state.status == "cancelled":
            return False
        self._check_open("cancelled")
        self.trigger(BookingCancelled(
            booking_id=self.id, office_id=self.state.office_id, cancelled_by=by, reason=reason, cancelled_at=at,
        ))
        return True

    def move(self, slot_start: datetime, room: str | None, by: BookingActor, at: datetime) -> None:
        self._check_open("moved")
        s = self.state
        assert s.slot_start is not None
        self.trigger(BookingMoved(
            booking_id=self.id, office_id=s.office_id, from_start=s.slot_start, slot_start=slot_start,
            room=room, moved_by=by, moved_at=at,
        ))

    def check_in(self, visit_id: str, at: datetime) -> None:
        """409 ``too_early`` more than ``CHECK_IN_OPENS`` before the booked time; 409 for
        a booking that is not open (the caller answers a second check-in itself)."""
        self._check_open("checked in")
        assert self.state.slot_start is not None
        if utc(at) < utc(self.state.slot_start) - CHECK_IN_OPENS:
            raise TooEarly(
                f"check-in opens {int(CHECK_IN_OPENS.total_seconds() // 60)} minutes before the booked time",
                {"slot_start": self.state.slot_start.isoformat()},
            )
        self.trigger(BookingCheckedIn(
            booking_id=self.id, office_id=self.state.office_id, visit_id=visit_id, checked_in_at=at,
        ))

    def is_no_show(self, now: datetime, grace: timedelta) -> bool:
        s = self.state
        return self.is_open and s.slot_start is not None and utc(now) >= utc(s.slot_start) + grace

    def mark_no_show(self, at: datetime) -> None:
        self._check_open("marked a no-show")
        self.trigger(BookingNoShow(booking_id=self.id, office_id=self.state.office_id, marked_at=at))

    def record_outcome(self, outcome: str, note: str | None, at: datetime) -> None:
        """Only after check-in; recording it again replaces it (a correction)."""
        if self.state.status not in ("checked_in", "held"):
            raise Conflict(f"booking {self.id} is {self.state.status}: an outcome needs a check-in first")
        self.trigger(MeetingOutcomeRecorded(
            booking_id=self.id, office_id=self.state.office_id, outcome=outcome, note=note, recorded_at=at,
        ))

    def record_erasure(self, actor: str, at: datetime) -> None:
        self.trigger(PersonalDataErased(visit_id=self.id, actor=actor, erased_at=at))

    def _check_open(self, change: str) -> None:
        if not self.exists:
            raise NotFound(f"no booking {self.id}")
        if not self.is_open:
            raise BookingClosed(f"booking {self.id} is {self.state.status}: it cannot be {change}")

    def apply(self, event: DomainEvent) -> None:
        s = self.state
        match event:
            case BookingMade():
                s.office_id, s.agency, s.case_type, s.kind = event.office_id, event.agency, event.case_type, event.kind
                s.slot_start, s.length_minutes, s.room = event.slot_start, event.length_minutes, event.room
                s.channel, s.question_id, s.visit_id = event.channel, event.question_id, event.visit_id
                s.booked_for_visit = event.visit_id
                s.booked_at, s.status = event.booked_at, "booked"
                s.has_identity_number = event.personal_identity_number is not None
                s.has_name, s.has_phone = event.contact_name is not None, event.contact_phone is not None
            case BookingMoved():
                s.moves.append(Move(event.from_start, event.slot_start, event.room, event.moved_by, event.moved_at))
                s.slot_start, s.room = event.slot_start, event.room
                s.status = "moved" if event.moved_by == "agency" else "booked"
            case BookingCancelled():
                s.status, s.cancelled_by = "cancelled", event.cancelled_by
            case BookingCheckedIn():
                s.status, s.visit_id = "checked_in", event.visit_id
                s.checked_in_visit = event.visit_id
            case BookingNoShow():
                s.status = "no_show"
            case MeetingOutcomeRecorded():
                s.status, s.outcome = "held", event.outcome
            case PersonalDataErased():
                s.erased = True
                s.has_identity_number = s.has_name = s.has_phone = False
