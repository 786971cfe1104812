"""The agency simulator's meetings (issue 16): it takes meetings, moves and cancellations
idempotently, and, served beside a real gateway, accepts them by callback and moves or
cancels its share itself; it publishes an agency's slots through the gateway."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from services.agency_simulator.app import build_simulator, publish_agency_slots
from shared.auth import auth_dir
from shared.signing import dev_secret, signed_headers
from tests.factories import booking_envelope
from tests.helpers import eventually
from tests.integration.gateway_support import gateway_settings, serve
from tests.integration.test_gateway_delivery import started
from tests.integration.test_gateway_meetings import SOON, feed, made, stream

AGENCY = "skatteverket"


def meeting(booking_id: str = "b-1", **fields) -> dict:
    return {"meeting_id": booking_id, "agency": AGENCY, "case_type": "id_kort", "kind": "in_person",
            "office_id": "kiruna", "slot_start": SOON.isoformat(), "length_minutes": 20, **fields}


async def post(simulator: httpx.AsyncClient, path: str, body: dict, key: str, secret: str | None = None):
    raw = json.dumps(body).encode()
    headers = {**signed_headers(secret or dev_secret(AGENCY), int(time.time()), raw), "Idempotency-Key": key}
    return await simulator.post(f"/v1/agencies/{AGENCY}/meetings{path}", content=raw, headers=headers)


async def test_meetings_moves_and_cancellations_are_taken_once(simulator):
    first = await post(simulator, "", meeting(), "b-1")
    assert first.status_code == 201
    again = await post(simulator, "", meeting(), "b-1")
    assert again.status_code == 409 and again.json() == {"reference": first.json()["reference"], "duplicate": True}
    assert (await post(simulator, "", meeting("b-2"), "b-2", secret="wrong")).status_code == 401
    assert (await post(simulator, "", {"meeting_id": "b-3"}, "b-3")).status_code == 422

    later = (SOON + timedelta(hours=1)).isoformat()
    moved = await post(simulator, "/b-1/move", {"meeting_id": "b-1", "agency": AGENCY, "slot_start": later}, "mv-1")
    assert moved.status_code == 200 and moved.json()["status"] == "moved"
    assert (await post(simulator, "/b-1/move", {"meeting_id": "b-1", "agency": AGENCY, "slot_start": later}, "mv-1")).status_code == 200
    unknown = await post(simulator, "/nope/cancellation", {"meeting_id": "nope", "agency": AGENCY}, "c-0")
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "not_found"
    cancelled = await post(simulator, "/b-1/cancellation", {"meeting_id": "b-1", "agency": AGENCY}, "c-1")
    assert cancelled.json() == {"reference": first.json()["reference"], "status": "cancelled"}

    received = (await simulator.get("/v1/received")).json()
    assert received["meetings"] == 1 and received["by_agency"][AGENCY]["meetings"] == {"cancelled": 1}
    assert received["unique_cases"] == 0  # meetings are not cases


@pytest.mark.parametrize(("rates", "then"), [({"SK_SIM_MEETING_MOVE_RATE": "1"}, "moved"),
                                            ({"SK_SIM_MEETING_CANCEL_RATE": "1"}, "cancelled")])
async def test_served_beside_the_gateway_it_accepts_then_moves_or_cancels(tmp_path, monkeypatch, rates, then):
    for name, value in {"SK_SIM_MEETING_MOVE_RATE": "0", "SK_SIM_MEETING_CANCEL_RATE": "0", **rates}.items():
        monkeypatch.setenv(name, value)
    keys = auth_dir(tmp_path / "gateway")
    app = build_simulator(tmp_path / "sim", callback_url="http://gateway.later", callback_delay=0, keys_dir=keys)
    async with serve(app) as simulator_url, httpx.AsyncClient(base_url=simulator_url) as simulator:
        settings = gateway_settings(tmp_path, simulator)
        async with started(settings) as gateway, serve(gateway.app) as gateway_url:
            app.state.sim.callbacks.base_url = gateway_url  # known only now
            booking = made()
            await feed(gateway, booking_envelope(booking))

            async def updates() -> list[str]:
                return [e.event().status for e in await stream(gateway, booking.booking_id)
                        if e.event_type == "gateway.AgencyMeetingUpdated"]

            assert await eventually(updates, lambda found: len(found) == 2) == ["accepted", then]
            at_agency = (await simulator.get("/v1/received")).json()["by_agency"]["forsakringskassan"]["meetings"]
            assert at_agency == {then: 1}
            last = (await stream(gateway, booking.booking_id))[-1].event()
            assert last.slot_start == (booking.slot_start + timedelta(days=1) if then == "moved" else None)


async def test_it_publishes_an_agencys_slots_through_the_gateway(tmp_path):
    settings = gateway_settings(tmp_path, httpx.AsyncClient(base_url="http://unused"))
    async with started(settings) as gateway, serve(gateway.app) as gateway_url:
        starts = [(datetime.now(UTC) + timedelta(days=2, hours=h)).isoformat() for h in range(3)]
        body = {"case_types": ["id_kort"], "kind": "in_person", "office_ids": ["kiruna", "umea"],
                "starts": starts, "length_minutes": 20, "publication_id": "demo-1"}
        answer = await publish_agency_slots(gateway_url, AGENCY, body, keys_dir=auth_dir(settings.data_dir))
        assert answer == {"publication_id": "demo-1", "slots": 6, "duplicate": False}
        log = [e.envelope for e in await gateway.read_log(0, 100)]
        assert [e.stream_id for e in log if e.event_type == "gateway.AgencySlotsPublished"] == [f"slots:{AGENCY}:demo-1"]
