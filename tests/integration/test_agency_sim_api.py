"""The agency simulator: de-duplication by Idempotency-Key, kept across restarts."""

from __future__ import annotations

import json
import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from services.agency_simulator.app import build_simulator
from shared.signing import dev_secret, signed_headers

PIN = "198112189876"


def case(agency: str = "forsakringskassan", case_id: str = "q-1") -> dict:
    return {
        "case_id": case_id,
        "visit_id": "v-1",
        "office_id": "malmo",
        "agency": agency,
        "case_type": "bostadsbidrag",
        "text": "Hur söker jag?",
        "personal_identity_number": PIN,
        "destination": "agency_system",
        "routed_at": datetime.now(UTC).isoformat(),
    }


@asynccontextmanager
async def simulator(data_dir: Path) -> AsyncIterator[httpx.AsyncClient]:
    """One simulator process, as far as its state goes: a fresh app on ``data_dir``."""
    app = build_simulator(data_dir)
    transport = httpx.ASGITransport(app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sim") as client:
        yield client
    await app.state.store.close()


@pytest.fixture
async def sim(tmp_path) -> AsyncIterator[httpx.AsyncClient]:
    async with simulator(tmp_path) as client:
        yield client


def signed(agency: str, body: object, secret: str | None = None, at: float | None = None):
    """The body's bytes and the headers the gateway would send (development secret)."""
    raw = json.dumps(body).encode()
    stamp = int(time.time() if at is None else at)
    return raw, signed_headers(secret or dev_secret(agency), stamp, raw)


async def post(client: httpx.AsyncClient, agency: str, key: str | None, body) -> httpx.Response:
    raw, headers = signed(agency, body)
    if key:
        headers["Idempotency-Key"] = key
    return await client.post(f"/v1/agencies/{agency}/cases", content=raw, headers=headers)


async def test_a_new_case_gets_a_reference_in_the_agency_format(sim):
    response = await post(sim, "forsakringskassan", "q-1", case())
    assert response.status_code == 201
    year = datetime.now(UTC).year
    assert re.fullmatch(rf"FK-{year}-\d{{6}}", response.json()["reference"])


async def test_the_same_key_again_is_a_409_with_the_same_reference(sim):
    first = await post(sim, "forsakringskassan", "q-1", case())
    again = await post(sim, "forsakringskassan", "q-1", case())
    assert again.status_code == 409
    assert again.json() == {"reference": first.json()["reference"], "duplicate": True}
    other = await post(sim, "forsakringskassan", "q-2", case(case_id="q-2"))
    assert other.json()["reference"] != first.json()["reference"]


async def test_cases_and_counts_survive_a_restart_on_the_same_data_dir(tmp_path):
    async with simulator(tmp_path) as first:
        created = await post(first, "skatteverket", "q-9", case("skatteverket", "q-9"))
    async with simulator(tmp_path) as second:
        again = await post(second, "skatteverket", "q-9", case("skatteverket", "q-9"))
        stats = (await second.get("/v1/received")).json()
        received = (await second.get("/v1/received/q-9")).json()
    assert again.status_code == 409
    assert again.json()["reference"] == created.json()["reference"]
    assert created.json()["reference"].startswith("SKV-")
    assert stats["total_requests"] == 2 and stats["unique_cases"] == 1
    skatteverket = stats["by_agency"]["skatteverket"]
    assert (skatteverket["requests"], skatteverket["unique_cases"]) == (2, 1)
    assert skatteverket["duplicates"] == 1 and stats["duplicates"] == 1
    assert (received["agency"], received["times_received"]) == ("skatteverket", 2)


async def test_what_the_simulator_shows_holds_no_identity_number_or_text(sim):
    await post(sim, "forsakringskassan", "q-1", case())
    shown = (await sim.get("/v1/received")).text + (await sim.get("/v1/received/q-1")).text
    assert PIN not in shown and "söker" not in shown


async def test_an_unknown_agency_is_a_404_json_error(sim):
    response = await post(sim, "nasa", "q-1", case("nasa"))
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


async def test_a_missing_idempotency_key_is_a_400_json_error(sim):
    response = await post(sim, "forsakringskassan", None, case())
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "missing_idempotency_key"
    assert (await sim.get("/v1/received")).json()["total_requests"] == 0


@pytest.mark.parametrize(
    "body",
    [[1, 2], {"case_id": "q-1"}, case("skatteverket")],
    ids=["not-an-object", "fields-missing", "agency-mismatch"],
)
async def test_a_bad_body_is_a_422_json_error(sim, body):
    response = await post(sim, "forsakringskassan", "q-1", body)
    assert response.status_code == 422
    assert "error" in response.json()


async def test_an_unknown_key_is_a_404(sim):
    assert (await sim.get("/v1/received/nope")).status_code == 404


async def test_injected_faults_answer_the_next_requests_then_stop(sim):
    fault = await sim.post("/v1/agencies/polisen/faults", json={"status": 503, "count": 2})
    assert fault.status_code == 200
    statuses = [
        (await post(sim, "polisen", "q-5", case("polisen", "q-5"))).status_code for _ in range(3)
    ]
    assert statuses == [503, 503, 201]
    polisen = (await sim.get("/v1/received")).json()["by_agency"]["polisen"]
    assert (polisen["requests"], polisen["unique_cases"], polisen["faults"]) == (3, 1, {"error": 2})
