"""The bookings' pure rules: room blocks, the booking code, the booking's life (cancel,
move, check-in window, no-show, outcome) and the queue board calling a checked-in
booking first from its booked time (docs/bookings.md)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.intake.domain.booking import (
    CODE_ALPHABET,
    Booking,
    BookingClosed,
    TooEarly,
    new_code,
    normalise_code,
)
from services.intake.domain.calendar import SlotCalendar, VideoRooms, room_blocks, slot_id
from services.intake.domain.events import (
    BookingCheckedIn,
    BookingMade,
    SlotsPublished,
    VideoRoomsDeclared,
    VisitRegistered,
)
from services.intake.domain.queue_board import QueueBoard
from shared.errors import Conflict

T0 = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
OFFICE = "umea"


def minutes(n: float) -> datetime:
    return T0 + timedelta(minutes=n)


def made(booking_id: str = "b1", start: datetime = T0, kind: str = "in_person") -> BookingMade:
    return BookingMade(
        booking_id=booking_id, office_id=OFFICE, agency="skatteverket", case_type="id_kort", kind=kind,
        slot_start=start, length_minutes=30, room="video-1" if kind == "video" else None, channel="desk",
        question_id=None, visit_id=None, personal_identity_number=None, contact_name=None, contact_phone=None,
        booked_by="desk-1", booked_at=minutes(-60),
    )


def test_room_blocks_cover_every_block_a_meeting_overlaps():
    assert room_blocks(T0, 30) == [minutes(m) for m in (0, 5, 10, 15, 20, 25)]
    assert room_blocks(minutes(7), 5) == [minutes(5), minutes(10)]  # 10:07-10:12 touches two blocks
    overlap = set(room_blocks(T0, 30)) & set(room_blocks(minutes(25), 30))
    assert overlap == {minutes(25)}
    assert not set(room_blocks(T0, 30)) & set(room_blocks(minutes(30), 30))  # back to back: no clash


def test_slot_ids_are_stable_per_publication_and_start():
    assert slot_id("p1", T0) == slot_id("p1", T0.astimezone(tz=None))
    assert slot_id("p1", T0) != slot_id("p2", T0) != slot_id("p1", minutes(30))


def test_codes_use_the_unambiguous_alphabet():
    codes = {new_code() for _ in range(200)}
    assert len(codes) == 200 and all(len(c) == 6 and set(c) <= set(CODE_ALPHABET) for c in codes)
    assert not set("01OI") & set(CODE_ALPHABET)
    assert normalise_code(" ab-c 23d ") == "ABC23D"


def test_cancel_is_idempotent_and_frees_nothing_after_check_in():
    booking = Booking.make(made())
    assert booking.cancel("visitor", None, minutes(-30)) is True
    assert booking.cancel("visitor", None, minutes(-20)) is False and booking.state.status == "cancelled"
    with pytest.raises(BookingClosed):
        booking.check_in("v1", minutes(-10))
    checked = Booking.make(made("b2"))
    checked.check_in("v2", minutes(-10))
    with pytest.raises(Conflict):
        checked.cancel("visitor", None, minutes(-5))


def test_check_in_opens_thirty_minutes_before():
    booking = Booking.make(made())
    with pytest.raises(TooEarly):
        booking.check_in("v1", minutes(-31))
    booking.check_in("v1", minutes(-30))
    assert booking.state.status == "checked_in" and booking.state.visit_id == "v1"


def test_no_show_after_the_grace_and_the_outcome_after_check_in():
    booking = Booking.make(made())
    grace = timedelta(minutes=15)
    assert not booking.is_no_show(minutes(14), grace) and booking.is_no_show(minutes(15), grace)
    with pytest.raises(Conflict):
        booking.record_outcome("held", None, minutes(20))
    booking.mark_no_show(minutes(15))
    assert booking.state.status == "no_show" and not booking.is_no_show(minutes(60), grace)
    held = Booking.make(made("b2"))
    held.check_in("v", minutes(-1))
    held.record_outcome("visitor_left", None, minutes(20))
    assert held.state.status == "held" and held.state.outcome == "visitor_left"


def test_a_move_keeps_its_history():
    booking = Booking.make(made(kind="video"))
    booking.move(minutes(60), "video-2", "agency", minutes(-10))
    s = booking.state
    assert s.status == "moved" and s.slot_start == minutes(60) and s.room == "video-2"
    assert [(m.from_start, m.slot_start, m.moved_by) for m in s.moves] == [(T0, minutes(60), "agency")]
    rebuilt = Booking.rehydrate("b1", [made(kind="video"), *booking.pending])
    assert rebuilt.state == s


def test_rooms_default_to_one_where_the_office_has_video_and_a_publication_counts_once():
    rooms = VideoRooms(VideoRooms.stream_id(OFFICE))
    assert rooms.rooms(True) == ["video-1"] and rooms.rooms(False) == []
    rooms.declare(VideoRoomsDeclared(office_id=OFFICE, rooms=[], declared_by="x", declared_at=T0))
    assert rooms.rooms(True) == []
    calendar = SlotCalendar(SlotCalendar.stream_id("polisen"))
    event = SlotsPublished(
        publication_id="p1", agency="polisen", case_types=["pass"], kind="in_person", office_ids=[OFFICE],
        starts=[T0], length_minutes=30, source="agency", published_by="polisen", published_at=T0,
    )
    assert calendar.publish(event) is True and calendar.publish(event) is False
    assert len(calendar.pending) == 1


def test_the_board_calls_a_checked_in_booking_first_from_its_time_and_an_early_one_last():
    board = QueueBoard({OFFICE: {"booked": 0, "general": 1}})
    day = "2026-12-02"

    def register(visit_id: str, queue: str, at: datetime) -> None:
        board.apply(VisitRegistered(
            visit_id=visit_id, office_id=OFFICE, channel="kiosk", agency=None, ticket=visit_id, service_day=day,
            registered_at=at, queue=queue), visit_id)

    register("walk-in", "general", minutes(-20))
    for booking_id, start in (("early", minutes(30)), ("due", T0)):
        board.apply(made(booking_id, start), booking_id)
        register(f"v-{booking_id}", "booked", minutes(-10))
        board.apply(BookingCheckedIn(booking_id=booking_id, office_id=OFFICE, visit_id=f"v-{booking_id}",
                                     checked_in_at=minutes(-10)), booking_id)
    order = [w.visit_id for w in board.candidates(OFFICE, ["general", "booked"], "1", day, minutes(1))]
    assert order == ["v-due", "walk-in", "v-early"]
    later = [w.visit_id for w in board.candidates(OFFICE, ["general", "booked"], "1", day, minutes(31))]
    assert later == ["v-due", "v-early", "walk-in"]  # both due: earliest time first
