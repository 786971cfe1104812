"""Meetings with an agency's official on intake's real SQLite store (docs/bookings.md):
slots published and listed, bookings made, read, cancelled; a slot is booked once and a
room holds one meeting at a time (also with parallel requests); check-in puts the
visitor in the booked queue, called first once due; no-show after the grace (the
worker's clock is injected); the outcome; personal data sealed and erasable; the
agency's slots and meeting callbacks (the gateway's events); 401/403/404/409/422."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from services.intake.domain.booking import CODE_ALPHABET
from services.intake.entrypoints.workers import NoShowWorker
from services.intake.handlers.bookings import on_agency_meeting
from services.intake.handlers.calendar import on_agency_slots
from shared import topics
from shared.contracts.agency_gateway import AgencyMeetingUpdated, AgencySlotsPublished
from shared.events import EventEnvelope
from shared.idempotency import KEY_HEADER
from shared.tracking import Checkpoint
from tests.helpers import api_client
from tests.integration import test_office_day_api as office_day_api

runtime, client = office_day_api.runtime, office_day_api.client
OFFICE = "umea"  # video meetings (room video-1), booked meetings, ID cards
PIN = "19811218-9876"


def at(minutes: int) -> datetime:
    """A time ``minutes`` from now, on a 5-minute boundary (slots start on one)."""
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    return now - timedelta(minutes=now.minute % 5) + timedelta(minutes=minutes)


async def publish(client, starts, kind="in_person", agency="skatteverket", case_types=("id_kort",),
                  length=30, office=OFFICE) -> dict:
    body = {"agency": agency, "case_types": list(case_types), "kind": kind,
            "starts": [s.isoformat() for s in starts], "length_minutes": length}
    response = await client.post(f"/v1/offices/{office}/slots", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def booking_body(start, kind="in_person", case_type="id_kort", agency="skatteverket", **extra) -> dict:
    return {"office_id": OFFICE, "agency": agency, "case_type": case_type, "kind": kind,
            "slot_start": start.isoformat(), **extra}


async def book(client, start, status=201, **kwargs):
    response = await client.post("/v1/bookings", json=booking_body(start, **kwargs))
    assert response.status_code == status, response.text
    return response.json()


async def free(client, **params) -> list[dict]:
    response = await client.get(f"/v1/offices/{OFFICE}/slots", params=params)
    assert response.status_code == 200, response.text
    return response.json()["slots"]


def stored_events(runtime) -> list[tuple[str, str]]:
    with sqlite3.connect(runtime.settings.data_dir / f"{runtime.name}.db") as db:
        return db.execute("SELECT event_type, payload FROM event_store ORDER BY position").fetchall()


def as_role(runtime, role: str):
    return api_client(runtime, role, "skatteverket" if role == "agency" else None)


# -- the calendar and the booking ----------------------------------------------------------
async def test_publish_book_read_cancel_and_book_again(client):
    start = at(120)
    published = await publish(client, [start, start + timedelta(minutes=30)])
    assert published["slots"] == 2 and published["publication_id"]
    slots = await free(client, agency="skatteverket", case_type="id_kort", kind="in_person")
    assert [s["slot_start"] for s in slots][:2] == [start.isoformat().replace("+00:00", "Z"),
                                                    (start + timedelta(minutes=30)).isoformat().replace("+00:00", "Z")]
    assert set(slots[0]) == {"slot_id", "slot_start", "length_minutes", "agency", "case_types", "kind", "office_id"}
    made = await book(client, start)
    assert made["status"] == "booked" and made["room"] is None and made["length_minutes"] == 30
    assert len(made["code"]) == 6 and set(made["code"]) <= set(CODE_ALPHABET)
    assert {"booking_id", "code", "status", "office_id", "agency", "case_type", "kind", "slot_start",
            "length_minutes", "room"} == set(made)
    assert len(await free(client, kind="in_person")) == 1  # the booked slot is gone
    taken = await book(client, start, status=409)
    assert taken["error"]["code"] == "slot_taken"
    got = (await client.get(f"/v1/bookings/{made['booking_id']}")).json()
    assert got["status"] == "booked" and got["agency_status"] == "pending" and got["code"] == made["code"]
    assert got["has_identity_number"] is False and got["moves"] == []
    first = await client.delete(f"/v1/bookings/{made['booking_id']}")
    again = await client.delete(f"/v1/bookings/{made['booking_id']}")
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json() == {"booking_id": made["booking_id"], "status": "cancelled"}
    assert len(await free(client, kind="in_person")) == 2  # cancel frees the slot
    assert (await book(client, start))["booking_id"] != made["booking_id"]
    types = [t for t, _ in stored_events(client._transport.app.state.runtime)]
    assert types.count("intake.BookingMade") == 2 and types.count("intake.BookingCancelled") == 1


async def test_not_bookable_and_bad_input_are_422(client):
    start = at(120)
    await publish(client, [start])
    assert (await book(client, start + timedelta(minutes=5), status=422))["error"]["code"] == "not_bookable"
    assert (await book(client, start, case_type="folkbokforing", status=422))["error"]["code"] == "not_bookable"
    assert (await book(client, start, case_type="no_such_type", status=422))["error"]["code"] == "not_bookable"
    assert (await book(client, start, kind="video", status=422))["error"]["code"] == "not_bookable"
    assert (await book(client, start, kind="phone", status=422))["error"]["code"] == "validation_error"
    assert (await client.get(f"/v1/offices/{OFFICE}/slots", params={"kind": "phone"})).status_code == 422
    assert (await client.get(f"/v1/offices/{OFFICE}/slots", params={"from": "yesterday"})).status_code == 422
    assert (await client.get(f"/v1/offices/{OFFICE}/slots", params={"from": "9999-12-31T23:59:00Z"})).status_code == 422
    far = {"slot_start": "9999-12-31T23:59:00Z"}
    assert (await client.post("/v1/bookings", json={**booking_body(start), **far})).status_code == 422
    assert (await book(client, at(-120), status=422))["error"]["code"] == "not_bookable"  # no slot then
    bad = await client.post(f"/v1/offices/{OFFICE}/slots", json={
        "agency": "skatteverket", "case_types": ["nope"], "kind": "video", "starts": [start.isoformat()],
        "length_minutes": 30})
    assert bad.status_code == 422


async def test_unknown_office_or_booking_is_404(client):
    assert (await client.get("/v1/offices/atlantis/slots")).status_code == 404
    assert (await client.post("/v1/offices/atlantis/slots", json={
        "agency": "skatteverket", "case_types": ["id_kort"], "kind": "in_person",
        "starts": [at(60).isoformat()], "length_minutes": 30})).status_code == 404
    assert (await client.put("/v1/offices/atlantis/video-rooms", json={"rooms": ["a"]})).status_code == 404
    missing = str(uuid.uuid4())
    assert (await client.get(f"/v1/bookings/{missing}")).status_code == 404
    assert (await client.delete(f"/v1/bookings/{missing}")).status_code == 404
    assert (await client.post(f"/v1/bookings/{missing}/outcome", json={"outcome": "held"})).status_code == 404
    response = await client.post("/v1/bookings/check-in", json={"office_id": OFFICE, "code": "ABCDEF"})
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


async def test_tokens_and_roles(runtime, client):
    start = at(120)
    await publish(client, [start, start + timedelta(minutes=30)])
    await publish(client, [start], agency="forsakringskassan", case_types=["bostadsbidrag"])
    async with api_client(runtime) as anonymous:
        anonymous.headers.pop("Authorization")
        assert (await anonymous.get(f"/v1/offices/{OFFICE}/slots")).status_code == 401
        assert (await anonymous.post("/v1/bookings", json=booking_body(start))).status_code == 401
        assert (await anonymous.delete(f"/v1/bookings/{uuid.uuid4()}")).status_code == 401
    async with as_role(runtime, "kiosk") as kiosk, as_role(runtime, "display") as display, \
            as_role(runtime, "desk") as desk, as_role(runtime, "agency") as agency, \
            as_role(runtime, "supervisor") as supervisor:
        assert (await display.get(f"/v1/offices/{OFFICE}/slots")).status_code == 403
        assert (await kiosk.post(f"/v1/offices/{OFFICE}/slots", json={
            "agency": "skatteverket", "case_types": ["id_kort"], "kind": "in_person",
            "starts": [at(60).isoformat()], "length_minutes": 30})).status_code == 403
        assert (await desk.put(f"/v1/offices/{OFFICE}/video-rooms", json={"rooms": ["a"]})).status_code == 403
        assert (await supervisor.put(f"/v1/offices/{OFFICE}/video-rooms", json={"rooms": ["video-1"]})).status_code == 200
        refused = await kiosk.post("/v1/bookings", json=booking_body(
            start, agency="forsakringskassan", case_type="bostadsbidrag"))
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "not_self_service"
        made = await book(kiosk, start)  # id_kort is self_booking: the kiosk books it
        assert (await kiosk.get(f"/v1/bookings/{made['booking_id']}")).status_code == 403
        assert (await kiosk.delete(f"/v1/bookings/{made['booking_id']}")).status_code == 403
        assert (await agency.post("/v1/bookings", json=booking_body(start))).status_code == 403
        own = {"agency": "skatteverket", "case_types": ["id_kort"], "kind": "in_person",
               "starts": [at(60).isoformat()], "length_minutes": 30}
        assert (await agency.post(f"/v1/offices/{OFFICE}/slots", json=own)).status_code == 201
        other = {**own, "agency": "polisen", "case_types": ["pass"]}
        assert (await agency.post(f"/v1/offices/{OFFICE}/slots", json=other)).status_code == 403
        by_desk = await book(desk, start, agency="forsakringskassan", case_type="bostadsbidrag")
        assert (await desk.get(f"/v1/bookings/{by_desk['booking_id']}")).status_code == 200
        assert (await desk.delete(f"/v1/bookings/{made['booking_id']}")).status_code == 200
        assert (await desk.delete(f"/v1/bookings/{by_desk['booking_id']}/personal-data")).status_code == 403


async def test_a_room_never_holds_two_overlapping_meetings(client):
    start = at(180)
    # Two officials (two publications), overlapping by 15 minutes, one room at Umeå.
    await publish(client, [start], kind="video")
    await publish(client, [start + timedelta(minutes=15)], kind="video")
    assert len(await free(client, kind="video")) == 2
    first = await book(client, start, kind="video")
    assert first["room"] == "video-1"
    assert await free(client, kind="video") == []  # the other needs the room too
    refused = await book(client, start + timedelta(minutes=15), kind="video", status=409)
    assert refused["error"]["code"] == "no_room_free"
    assert (await client.put(f"/v1/offices/{OFFICE}/video-rooms", json={"rooms": ["video-1", "video-2"]})).status_code == 200
    assert (await book(client, start + timedelta(minutes=15), kind="video"))["room"] == "video-2"
    await client.delete(f"/v1/bookings/{first['booking_id']}")  # frees slot and room
    assert [s["slot_start"][:16] for s in await free(client, kind="video")] == [start.isoformat()[:16]]


async def test_parallel_bookings_of_one_slot_make_exactly_one(client):
    start = at(240)
    await publish(client, [start])
    answers = await asyncio.gather(*(client.post("/v1/bookings", json=booking_body(start)) for _ in range(10)))
    assert sorted(a.status_code for a in answers) == [201] + [409] * 9, [a.text for a in answers]
    assert {a.json()["error"]["code"] for a in answers if a.status_code == 409} == {"slot_taken"}


async def test_parallel_video_bookings_of_overlapping_slots_make_one(client):
    start = at(300)
    await publish(client, [start], kind="video")
    await publish(client, [start + timedelta(minutes=10)], kind="video")
    answers = await asyncio.gather(
        client.post("/v1/bookings", json=booking_body(start, kind="video")),
        client.post("/v1/bookings", json=booking_body(start + timedelta(minutes=10), kind="video")),
    )
    assert sorted(a.status_code for a in answers) == [201, 409], [a.text for a in answers]
    assert [a.json()["error"]["code"] for a in answers if a.status_code == 409] == ["no_room_free"]


async def test_the_idempotency_key_makes_one_booking(runtime, client):
    start = at(120)
    await publish(client, [start])
    sent = {KEY_HEADER: str(uuid.uuid4())}
    first = await client.post("/v1/bookings", json=booking_body(start), headers=sent)
    again = await client.post("/v1/bookings", json=booking_body(start), headers=sent)
    assert first.status_code == again.status_code == 201 and first.json() == again.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert [t for t, _ in stored_events(runtime)].count("intake.BookingMade") == 1
    later = at(150)
    await publish(client, [later])
    sent = {KEY_HEADER: str(uuid.uuid4())}
    twins = await asyncio.gather(*(client.post("/v1/bookings", json=booking_body(later), headers=sent) for _ in range(6)))
    assert {a.status_code for a in twins} == {201} and len({a.text for a in twins}) == 1, [a.text for a in twins]
    assert [t for t, _ in stored_events(runtime)].count("intake.BookingMade") == 2


# -- the day of the meeting ----------------------------------------------------------------
async def check_in(client, code, office=OFFICE, status=200):
    response = await client.post("/v1/bookings/check-in", json={"office_id": office, "code": code})
    assert response.status_code == status, response.text
    return response.json()


async def test_check_in_puts_the_visit_in_the_booked_queue_called_first_once_due(client):
    due, later = at(-5), at(20)
    await publish(client, [due, later])
    walk_in = (await client.post("/v1/visits", json={"office_id": OFFICE, "channel": "kiosk"})).json()
    early = await book(client, later)
    made = await book(client, due)
    await check_in(client, early["code"])  # 20 minutes early: checked in first, not yet due
    assert (await check_in(client, "WRONG1", status=404))
    assert (await check_in(client, made["code"], office="lulea", status=404))
    checked = await check_in(client, made["code"].lower())
    assert checked["queue"] == "booked" and checked["booking_id"] == made["booking_id"]
    assert (await check_in(client, made["code"]))["visit_id"] == checked["visit_id"]  # idempotent
    called = []
    for _ in range(3):
        response = await client.post(f"/v1/offices/{OFFICE}/desks/1/call-next", json={"queues": ["general", "booked"]})
        assert response.status_code == 200, response.text
        called.append(response.json()["visit_id"])
    assert called[0] == checked["visit_id"] and called[1] == walk_in["visit_id"]  # due first, early last
    got = (await client.get(f"/v1/bookings/{made['booking_id']}")).json()
    assert got["status"] == "checked_in" and got["visit_id"] == checked["visit_id"]
    assert (await client.delete(f"/v1/bookings/{made['booking_id']}")).status_code == 409
    outcome = await client.post(f"/v1/bookings/{made['booking_id']}/outcome",
                                json={"outcome": "held", "note": "ring 070-123 45 67"})
    assert outcome.status_code == 200 and outcome.json()["status"] == "held"
    assert "070-123" not in json.dumps([p for _, p in stored_events(client._transport.app.state.runtime)])


async def test_check_in_too_early_or_cancelled_is_409_and_outcome_needs_check_in(client):
    far, soon = at(180), at(10)
    await publish(client, [far, soon])
    early = await book(client, far)
    assert (await check_in(client, early["code"], status=409))["error"]["code"] == "too_early"
    cancelled = await book(client, soon)
    no_outcome = await client.post(f"/v1/bookings/{cancelled['booking_id']}/outcome", json={"outcome": "held"})
    assert no_outcome.status_code == 409
    await client.delete(f"/v1/bookings/{cancelled['booking_id']}")
    assert (await check_in(client, cancelled["code"], status=409))["error"]["code"] == "booking_closed"


async def test_no_show_after_the_grace_frees_the_slot(runtime, client):
    start = at(10)
    await publish(client, [start])
    made = await book(client, start)
    worker = NoShowWorker(runtime.uow_factory, grace_minutes=15, clock=lambda: start + timedelta(minutes=14))
    assert await worker.run_once() == []  # within the grace
    worker.clock = lambda: start + timedelta(minutes=15)
    assert await worker.run_once() == [made["booking_id"]]
    assert await worker.run_once() == []
    got = (await client.get(f"/v1/bookings/{made['booking_id']}")).json()
    assert got["status"] == "no_show"
    assert (await check_in(client, made["code"], status=409))
    assert [t for t, _ in stored_events(runtime)].count("intake.BookingNoShow") == 1


# -- personal data ----------------------------------------------------------------------------
async def test_identity_number_name_and_phone_are_sealed_and_erasable(runtime, client, capsys):
    start = at(120)
    await publish(client, [start])
    made = await book(client, start, personal_identity_number=PIN, name="Anna Andersson", phone="070-123 45 67")
    payloads = json.dumps(stored_events(runtime))
    for clear in ("198112189876", "19811218-9876", "Anna Andersson", "070-123 45 67", "0701234567"):
        assert clear not in payloads
    event = next(json.loads(p) for t, p in stored_events(runtime) if t == "intake.BookingMade")
    vault = runtime.deps.vault
    assert await vault.decrypt(event["personal_identity_number"]) == "198112189876"
    assert await vault.decrypt(event["contact_name"]) == "Anna Andersson"
    assert event["person_pseudonym"]
    got = (await client.get(f"/v1/bookings/{made['booking_id']}")).json()
    assert got["has_identity_number"] and got["has_name"] and got["phone_masked"].endswith("67")
    assert PIN not in json.dumps(got) and "Anna" not in json.dumps(got)
    erased = await client.delete(f"/v1/bookings/{made['booking_id']}/personal-data")
    assert erased.status_code == 200 and erased.json()["erased"] is True
    assert await vault.decrypt(event["personal_identity_number"]) is None
    got = (await client.get(f"/v1/bookings/{made['booking_id']}")).json()
    assert not got["has_identity_number"] and got["phone_masked"] is None
    assert [t for t, _ in stored_events(runtime)][-1] == "intake.PersonalDataErased"
    logged = capsys.readouterr()
    assert "9876" not in logged.out + logged.err and "Anna" not in logged.out + logged.err


async def test_the_retention_worker_erases_a_bookings_personal_data(runtime, client):
    from services.intake.entrypoints.workers import RetentionWorker

    start = at(120)
    await publish(client, [start])
    made = await book(client, start, personal_identity_number=PIN)
    sealed = next(json.loads(p) for t, p in stored_events(runtime) if t == "intake.BookingMade")
    later = datetime.now(UTC) + timedelta(days=31)
    worker = RetentionWorker(runtime.uow_factory, runtime.deps.vault, 30, clock=lambda: later)
    assert made["booking_id"] in await worker.run_once()
    assert await runtime.deps.vault.decrypt(sealed["personal_identity_number"]) is None
    assert not (await client.get(f"/v1/bookings/{made['booking_id']}")).json()["has_identity_number"]


# -- the agency, through the gateway's events -------------------------------------------------
async def consume(runtime, handler, event, **_deps) -> None:
    """Through intake's own consumer (its handlers for the gateway's topic, its inbox);
    ``handler`` names the handler the event reaches."""
    consumer = runtime.consumers[0]
    assert consumer.handlers[event.event_type()].func is handler
    envelope = EventEnvelope.wrap(event, stream_id=str(uuid.uuid4()), stream_version=1)
    consume.position = getattr(consume, "position", 0) + 1
    await consumer.handle_batch([(envelope, Checkpoint(topics.GATEWAY, 0, consume.position))])


async def test_the_agencys_slots_and_meeting_callbacks(runtime, client):
    start, moved_to = at(120), at(240)
    published = AgencySlotsPublished(
        publication_id=str(uuid.uuid4()), agency="polisen", case_types=["pass", "nope"], kind="in_person",
        office_ids=[OFFICE, "atlantis"], starts=[start, start + timedelta(minutes=30)], length_minutes=30,
        received_at=datetime.now(UTC),
    )
    deps = runtime.deps
    await consume(runtime, on_agency_slots, published, catalog=deps.catalog, day=deps.office_day)
    await consume(runtime, on_agency_slots, published, catalog=deps.catalog, day=deps.office_day)  # again
    assert len(await free(client, agency="polisen")) == 2
    one = await book(client, start, agency="polisen", case_type="pass")
    two = await book(client, start + timedelta(minutes=30), agency="polisen", case_type="pass")

    def update(booking_id, status, slot_start=None):
        return AgencyMeetingUpdated(
            booking_id=booking_id, agency="polisen", agency_reference="POL-1", status=status, slot_start=slot_start,
            callback_id=str(uuid.uuid4()), agency_updated_at=datetime.now(UTC), received_at=datetime.now(UTC),
        )

    await consume(runtime, on_agency_meeting, update(one["booking_id"], "accepted"), day=deps.office_day)
    assert (await client.get(f"/v1/bookings/{one['booking_id']}")).json()["agency_status"] == "accepted"
    await consume(runtime, on_agency_meeting, update(one["booking_id"], "moved", moved_to), day=deps.office_day)
    got = (await client.get(f"/v1/bookings/{one['booking_id']}")).json()
    assert got["status"] == "moved" and got["agency_status"] == "moved" and got["slot_start"][:16] == moved_to.isoformat()[:16]
    assert [m["moved_by"] for m in got["moves"]] == ["agency"]
    assert [s["slot_start"][:16] for s in await free(client, agency="polisen")] == [start.isoformat()[:16]]
    await consume(runtime, on_agency_meeting, update(two["booking_id"], "cancelled"), day=deps.office_day)
    got = (await client.get(f"/v1/bookings/{two['booking_id']}")).json()
    assert got["status"] == "cancelled" and got["cancelled_by"] == "agency"
    assert len(await free(client, agency="polisen")) == 2


async def test_a_video_meeting_the_agency_moves_onto_a_taken_room_is_cancelled_and_flagged(runtime, client):
    start, other = at(120), at(240)
    await publish(client, [start, other], kind="video", agency="polisen", case_types=["pass"])
    moved = await book(client, start, kind="video", agency="polisen", case_type="pass")
    await book(client, other, kind="video", agency="polisen", case_type="pass")  # holds video-1 then
    update = AgencyMeetingUpdated(
        booking_id=moved["booking_id"], agency="polisen", agency_reference=None, status="moved",
        slot_start=other + timedelta(minutes=10), callback_id=str(uuid.uuid4()),
        agency_updated_at=datetime.now(UTC), received_at=datetime.now(UTC),
    )
    await consume(runtime, on_agency_meeting, update, day=runtime.deps.office_day)
    got = (await client.get(f"/v1/bookings/{moved['booking_id']}")).json()
    assert got["status"] == "cancelled" and got["agency_status"] == "moved" and got["cancelled_by"] == "office"
    assert [s["slot_start"][:16] for s in await free(client, kind="video")] == [start.isoformat()[:16]]


async def test_the_kiosk_checks_in_with_the_code(runtime, client):
    start = at(10)
    await publish(client, [start])
    made = await book(client, start)
    async with as_role(runtime, "kiosk") as kiosk, as_role(runtime, "display") as display:
        assert (await display.post("/v1/bookings/check-in", json={"office_id": OFFICE, "code": made["code"]})).status_code == 403
        ticket = await check_in(kiosk, made["code"])
    assert ticket["ticket"].startswith("B") and ticket["queue"] == "booked"
    visit = (await client.get(f"/v1/visits/{ticket['visit_id']}")).json()
    assert visit["queue"] == "booked" and visit["status"] == "waiting"


@pytest.mark.parametrize("role", ["desk", "supervisor", "admin"])
async def test_desks_and_offices_may_book(runtime, client, role):
    start = at(120)
    await publish(client, [start], agency="forsakringskassan", case_types=["bostadsbidrag"])
    async with as_role(runtime, role) as caller:
        await book(caller, start, agency="forsakringskassan", case_type="bostadsbidrag")


# -- PostgreSQL, two replicas -----------------------------------------------------------------
@pytest.mark.realservers
async def test_on_postgresql_two_replicas_book_a_slot_once_and_a_room_once(real_servers, tmp_path):
    from services.intake.bootstrap import bootstrap
    from services.intake.config import IntakeSettings

    url = await real_servers.fresh_database()
    settings = IntakeSettings(data_dir=tmp_path, database_url=url, intake_database_url=None, vault_database_url=None)
    replicas = [bootstrap(settings), bootstrap(settings)]
    await replicas[0].init_db()
    await replicas[1].init_db()
    try:
        async with api_client(replicas[0]) as one, api_client(replicas[1]) as two:
            start, video = at(240), at(360)
            await publish(one, [start])
            answers = await asyncio.gather(*(c.post("/v1/bookings", json=booking_body(start)) for c in [one, two] * 6))
            assert sorted(a.status_code for a in answers) == [201] + [409] * 11, [a.text for a in answers]
            twin_start, sent = at(270), {KEY_HEADER: str(uuid.uuid4())}
            await publish(two, [twin_start])
            twins = await asyncio.gather(
                *(c.post("/v1/bookings", json=booking_body(twin_start), headers=sent) for c in [one, two] * 3)
            )
            assert {a.status_code for a in twins} == {201} and len({a.text for a in twins}) == 1, [a.text for a in twins]
            await publish(one, [video], kind="video")
            await publish(two, [video + timedelta(minutes=10)], kind="video")
            rooms = await asyncio.gather(
                one.post("/v1/bookings", json=booking_body(video, kind="video")),
                two.post("/v1/bookings", json=booking_body(video + timedelta(minutes=10), kind="video")),
            )
            assert sorted(a.status_code for a in rooms) == [201, 409], [a.text for a in rooms]
            assert [a.json()["error"]["code"] for a in rooms if a.status_code == 409] == ["no_room_free"]
            booked = next(a.json() for a in answers if a.status_code == 201)
            assert (await two.delete(f"/v1/bookings/{booked['booking_id']}")).status_code == 200
            assert (await one.post("/v1/bookings", json=booking_body(start))).status_code == 201
        async with replicas[0].engine.connect() as conn:
            import sqlalchemy as sa

            made = await conn.scalar(sa.text(
                "SELECT COUNT(*) FROM intake.event_store WHERE event_type = 'intake.BookingMade'"))
            claims = await conn.scalar(sa.text("SELECT COUNT(*) FROM intake.intake_slot_claims"))
        assert made == 4 and claims == 3
    finally:
        for replica in replicas:
            await replica.close()


@pytest.mark.realservers
async def test_on_postgresql_migration_0005_adds_the_booking_tables_to_a_schema_made_before_it(real_servers, tmp_path):
    import sqlalchemy as sa
    from alembic import command

    from services.intake.adapters.booking_tables import BOOKING_TABLES
    from services.intake.bootstrap import bootstrap
    from services.intake.config import IntakeSettings
    from shared.db import create_engine
    from shared.migrations import alembic_config

    url = await real_servers.fresh_database()
    settings = IntakeSettings(data_dir=tmp_path, database_url=url, intake_database_url=None, vault_database_url=None)
    runtime = bootstrap(settings)
    before = [t for t in runtime.tables if t not in BOOKING_TABLES]  # intake before issue 16
    engine = create_engine(url, schema="intake")
    try:
        async with engine.begin() as conn:
            await conn.execute(sa.text('CREATE SCHEMA IF NOT EXISTS "intake"'))
            await conn.run_sync(lambda sync: command.upgrade(alembic_config("intake", before, sync), "0004_event_trace"))
            assert not await conn.scalar(sa.text("SELECT to_regclass('intake.intake_slot_claims')"))
        await engine.dispose()
        await runtime.init_db()  # migrates to head
        async with api_client(runtime) as client:
            start = at(120)
            await publish(client, [start])
            await book(client, start)
            assert (await book(client, start, status=409))["error"]["code"] == "slot_taken"
    finally:
        await engine.dispose()
        await runtime.close()
