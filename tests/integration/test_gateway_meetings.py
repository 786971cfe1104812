"""Bookings to the agencies (issue 16): intake's booking events in through the gateway's
bookings consumer, the delivery worker running against the real simulator over real HTTP
(real SQLite store); the agencies' signed meeting callbacks and slot publications."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from services.agency_gateway.handlers.meetings import delivery_id
from shared import topics
from shared.events import EventEnvelope
from shared.runtime import ServiceRuntime
from shared.signing import dev_secret, signed_headers
from shared.tracking import Checkpoint
from tests.factories import booking_cancelled, booking_envelope, booking_made, booking_moved
from tests.helpers import api_client, auth
from tests.integration.gateway_support import delivered, gateway_settings
from tests.integration.test_gateway_delivery import started

SOON = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)


@pytest.fixture
async def gateway(tmp_path, simulator) -> AsyncIterator[ServiceRuntime]:
    async with started(gateway_settings(tmp_path, simulator)) as runtime:
        yield runtime


async def feed(runtime: ServiceRuntime, envelope: EventEnvelope, position: int = 1) -> None:
    """Into the bookings consumer (the second one), as intake's topic would."""
    await runtime.consumers[1].handle(envelope, Checkpoint(topics.INTAKE, 0, position))


async def stream(runtime: ServiceRuntime, stream_id: str) -> list[EventEnvelope]:
    return [e.envelope for e in await runtime.read_log(0, 1000) if e.envelope.stream_id == stream_id]


def made(**fields):
    return booking_made(slot_start=SOON, personal_identity_number=None, contact_name=None, contact_phone=None, **fields)


async def test_a_booking_is_delivered_once_even_when_redelivered(gateway, simulator):
    booking = made()
    await feed(gateway, booking_envelope(booking), 1)
    await feed(gateway, booking_envelope(booking), 1)  # the same event again
    result = await delivered(gateway, booking.booking_id)
    assert (result["status"], result["attempts"]) == ("delivered", 1)
    assert result["agency_reference"].startswith("M-FK-")
    await feed(gateway, booking_envelope(booking), 2)  # redelivered after delivery

    stats = (await simulator.get("/v1/received")).json()
    assert stats["meetings"] == 1 and stats["by_agency"]["forsakringskassan"]["meetings"] == {"accepted": 1}
    assert [e.event_type for e in await stream(gateway, booking.booking_id)] == [
        "gateway.MeetingQueuedForDelivery",
        "gateway.MeetingForwarded",
    ]
    # A retry after a lost answer (same Idempotency-Key): the agency's same reference.
    worker, target = gateway.deps.worker, gateway.settings.target("forsakringskassan")
    again = await worker.agency.send(target, booking.booking_id, {"meeting_id": booking.booking_id, **_body(booking)}, "meeting")
    assert again.reference == result["agency_reference"]
    assert (await simulator.get("/v1/received")).json()["meetings"] == 1


def _body(booking) -> dict:
    return {"agency": booking.agency, "case_type": booking.case_type, "kind": booking.kind,
            "office_id": booking.office_id, "slot_start": booking.slot_start.isoformat(),
            "length_minutes": booking.length_minutes}


async def test_a_cancellation_by_the_visitor_is_delivered_but_not_one_by_the_agency(gateway, simulator):
    booking, other = made(), made(agency="skatteverket", case_type="id_kort", kind="in_person", room=None)
    for position, event in enumerate([booking, other], 1):
        await feed(gateway, booking_envelope(event), position)
    await delivered(gateway, booking.booking_id)
    await delivered(gateway, other.booking_id)
    await feed(gateway, booking_envelope(booking_cancelled(booking, cancelled_by="visitor"), stream_version=2), 3)
    await feed(gateway, booking_envelope(booking_cancelled(other, cancelled_by="agency"), stream_version=2), 4)

    cancellation = await delivered(gateway, delivery_id(booking.booking_id, "cancellation"))
    assert (cancellation["status"], cancellation["agency"], cancellation["kind"]) == (
        "delivered", "forsakringskassan", "meeting_cancellation")
    assert (await api_get(gateway, f"/v1/deliveries/{delivery_id(other.booking_id, 'cancellation')}")).status_code == 404
    by_agency = (await simulator.get("/v1/received")).json()["by_agency"]
    assert by_agency["forsakringskassan"]["meetings"] == {"cancelled": 1}
    assert by_agency["skatteverket"]["meetings"] == {"accepted": 1}


async def test_a_move_by_the_office_is_delivered_with_the_new_time(gateway, simulator):
    booking = made()
    await feed(gateway, booking_envelope(booking), 1)
    await delivered(gateway, booking.booking_id)
    moved = booking_moved(booking, moved_by="office", slot_start=SOON + timedelta(hours=2), moved_at=datetime.now(UTC))
    await feed(gateway, booking_envelope(moved, stream_version=2), 2)
    await feed(gateway, booking_envelope(booking_moved(booking, moved_by="agency"), stream_version=3), 3)

    moves = [r for r in (await api_get(gateway, "/v1/deliveries")).json()["data"] if r["question_id"] != booking.booking_id]
    assert len(moves) == 1  # the agency's own move is not sent back to it
    assert (await delivered(gateway, moves[0]["question_id"]))["status"] == "delivered"
    assert (await simulator.get("/v1/received")).json()["by_agency"]["forsakringskassan"]["meetings"] == {"moved": 1}


async def test_a_meeting_the_agency_never_takes_is_dead_lettered_after_the_retries(tmp_path):
    settings = gateway_settings(tmp_path, httpx.AsyncClient(base_url="http://127.0.0.1:9"), agency_max_attempts=3)
    async with started(settings) as gateway:
        booking = made()
        await feed(gateway, booking_envelope(booking))
        result = await delivered(gateway, booking.booking_id)
        assert (result["status"], result["attempts"]) == ("dead_lettered", 3)
        assert [e.event_type.split(".")[1] for e in await stream(gateway, booking.booking_id)] == [
            "MeetingQueuedForDelivery", *["MeetingForwardingFailed"] * 3, "MeetingDeadLettered",
        ]
        dead = (await api_get(gateway, "/v1/dead-letters")).json()
        assert booking.booking_id in json.dumps(dead)
        async with api_client(gateway) as ops:  # replayed like a case's dead letter
            replayed = await ops.post(f"/v1/dead-letters/{booking.booking_id}/replay", json={"reason": "agency back"})
        assert replayed.status_code == 200, replayed.text
        assert (await stream(gateway, booking.booking_id))[5].event_type == "gateway.DeadLetterReplayed"


async def api_get(runtime: ServiceRuntime, path: str) -> httpx.Response:
    async with api_client(runtime) as client:
        return await client.get(path)


def meeting_callback(booking_id: str, status: str, callback_id: str = "m-1", **fields) -> bytes:
    body = {"callback_id": callback_id, "booking_id": booking_id, "status": status, "reference": "M-FK-1",
            "occurred_at": datetime.now(UTC).isoformat(), **fields}
    return json.dumps(body).encode()


async def post_signed(runtime, path: str, raw: bytes, agency: str = "forsakringskassan", secret: str | None = None,
                      as_agency: str | None = None, role: str = "agency") -> httpx.Response:
    headers = {**signed_headers(secret or dev_secret(agency), int(time.time()), raw),
               **auth(runtime.settings.data_dir, role, (as_agency or agency) if role == "agency" else None)}
    async with api_client(runtime) as client:
        return await client.post(path, content=raw, headers=headers)


async def test_meeting_callbacks_moved_and_cancelled_become_agency_meeting_updated(gateway):
    booking = made()
    await feed(gateway, booking_envelope(booking))
    await delivered(gateway, booking.booking_id)
    path = "/v1/agencies/forsakringskassan/meeting-callbacks"
    new_start = (SOON + timedelta(days=1)).isoformat()

    moved = await post_signed(gateway, path, meeting_callback(booking.booking_id, "moved", slot_start=new_start))
    assert moved.status_code == 200 and moved.json() == {"accepted": True, "duplicate": False}
    again = await post_signed(gateway, path, meeting_callback(booking.booking_id, "moved", slot_start=new_start))
    assert again.json() == {"accepted": True, "duplicate": True}
    cancelled = await post_signed(gateway, path, meeting_callback(booking.booking_id, "cancelled", "m-2", note="ring 0701234567"))
    assert cancelled.status_code == 200

    updates = [e.event() for e in await stream(gateway, booking.booking_id) if e.event_type == "gateway.AgencyMeetingUpdated"]
    assert [(u.status, u.slot_start) for u in updates] == [("moved", SOON + timedelta(days=1)), ("cancelled", None)]
    assert "0701234567" not in (updates[1].note or "")


async def test_meeting_callbacks_are_refused_unsigned_invalid_unknown_or_of_another_agency(gateway):
    booking = made()
    await feed(gateway, booking_envelope(booking))
    path = "/v1/agencies/forsakringskassan/meeting-callbacks"
    raw = meeting_callback(booking.booking_id, "accepted")
    assert (await post_signed(gateway, path, raw, secret="wrong")).status_code == 401
    assert (await post_signed(gateway, path, raw, as_agency="polisen")).status_code == 403
    no_time = await post_signed(gateway, path, meeting_callback(booking.booking_id, "moved"))
    assert no_time.status_code == 422 and no_time.json()["error"]["code"] == "validation_error"
    unknown = await post_signed(gateway, path, meeting_callback("no-such-booking", "accepted"))
    assert unknown.status_code == 404
    assert (await post_signed(gateway, path, b"{not json")).status_code == 422


def slots(**fields) -> bytes:
    body = {"agency": "forsakringskassan", "case_types": ["foraldrapenning"], "kind": "video",
            "office_ids": ["pitea"], "starts": [SOON.isoformat(), (SOON + timedelta(minutes=30)).isoformat()],
            "length_minutes": 30, **fields}
    return json.dumps(body).encode()


async def test_an_agency_publishes_its_slots_once(gateway):
    first = await post_signed(gateway, "/v1/agency/slots", slots(publication_id="pub-1"))
    assert first.status_code == 201 and first.json() == {"publication_id": "pub-1", "slots": 2, "duplicate": False}
    again = await post_signed(gateway, "/v1/agency/slots", slots(publication_id="pub-1"), role="admin")
    assert again.status_code == 200 and again.json()["duplicate"] is True
    published = [e.event() for e in await stream(gateway, "slots:forsakringskassan:pub-1")]
    assert len(published) == 1
    assert (published[0].agency, published[0].office_ids, len(published[0].starts)) == ("forsakringskassan", ["pitea"], 2)


@pytest.mark.parametrize(
    ("body", "options", "status"),
    [
        (slots(), {"secret": "wrong"}, 401),
        (slots(), {"role": "admin", "secret": "wrong"}, 401),  # an operator: the agency's signature
        (slots(agency="atlantis"), {"role": "admin"}, 422),
        (slots(agency="polisen"), {}, 403),  # another agency's slots
        (slots(case_types=["pass"]), {}, 422),  # not a case type of the agency
        (slots(office_ids=["atlantis"]), {}, 422),
        (slots(starts=[]), {}, 422),
        (slots(starts=["2030-01-01T10:00:00"]), {}, 422),  # no offset
        (slots(length_minutes=0), {}, 422),
    ],
)
async def test_slot_publications_are_refused(gateway, body, options, status):
    response = await post_signed(gateway, "/v1/agency/slots", body, **options)
    assert response.status_code == status, response.text
    assert "error" in response.json()
    assert [e for e in await gateway.read_log(0, 100) if e.envelope.event_type == "gateway.AgencySlotsPublished"] == []
