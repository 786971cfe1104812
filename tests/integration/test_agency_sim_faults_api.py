"""The simulator's failure modes over HTTP, its signature check, its status callbacks,
and its refusal to run in production."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator

import httpx
import pytest

from services.agency_simulator.app import build_simulator
from shared.errors import ConfigurationError
from shared.signing import check, dev_secret, signed_headers
from tests.helpers import eventually


def case(key: str, agency: str = "polisen") -> bytes:
    return json.dumps({"case_id": key, "agency": agency, "case_type": "pass"}).encode()


async def send(client, key: str, agency="polisen", secret=None, at=None) -> httpx.Response:
    raw = case(key, agency)
    headers = signed_headers(secret or dev_secret(agency), int(at or time.time()), raw)
    headers["Idempotency-Key"] = key
    return await client.post(f"/v1/agencies/{agency}/cases", content=raw, headers=headers)


@pytest.fixture
async def sim(tmp_path) -> AsyncIterator[httpx.AsyncClient]:
    app = build_simulator(tmp_path, seed=3)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://sim") as client:
        yield client
    await app.state.store.close()


@pytest.mark.parametrize(("secret", "age"), [("wrong", 0), (None, 900)], ids=["bad", "stale"])
async def test_a_bad_signature_or_stale_timestamp_is_a_401_and_opens_no_case(sim, secret, age):
    response = await send(sim, "k-1", secret=secret, at=time.time() - age)
    assert response.status_code == 401
    stats = (await sim.get("/v1/received")).json()
    assert (stats["unique_cases"], stats["by_agency"]["polisen"]["refused_signatures"]) == (0, 1)


async def test_an_error_rate_is_answered_with_5xx_and_counted_apart_from_cases(sim):
    await sim.put("/v1/admin/faults", json={"error_rate": 0.5})
    statuses = [(await send(sim, f"k-{n}")).status_code for n in range(40)]
    stats = (await sim.get("/v1/received")).json()["by_agency"]["polisen"]
    assert {s for s in statuses} <= {201, 500, 502, 503} and 8 < statuses.count(201) < 32
    assert stats["requests"] == 40 and stats["unique_cases"] == statuses.count(201)
    assert stats["faults"]["error"] == 40 - statuses.count(201)


async def test_a_timeout_takes_the_case_so_the_retry_is_a_duplicate(sim):
    await sim.put("/v1/admin/faults/polisen", json={"timeout_rate": 1.0, "hang_seconds": 30})
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.5):  # the caller gives up, as the gateway would
            await send(sim, "k-1")
    await sim.post("/v1/admin/reset")
    again = await send(sim, "k-1")
    assert again.status_code == 409 and again.json()["duplicate"] is True
    stats = (await sim.get("/v1/received")).json()["by_agency"]["polisen"]
    assert (stats["unique_cases"], stats["duplicates"], stats["faults"]) == (1, 1, {"timeout": 1})


async def test_an_outage_refuses_one_agency_for_its_window(sim):
    response = await sim.post("/v1/admin/outages", json={"agency": "polisen", "seconds": 30})
    assert response.status_code == 200
    assert (await send(sim, "k-1")).status_code == 503
    assert (await send(sim, "k-2", "skatteverket")).status_code == 201
    shown = (await sim.get("/v1/admin/faults")).json()
    assert shown["outages"]["polisen"]["mode"] == "error"
    await sim.post("/v1/admin/reset")
    assert (await send(sim, "k-1")).status_code == 201


async def test_the_simulator_refuses_to_start_in_production(tmp_path, monkeypatch):
    monkeypatch.setenv("SK_ENVIRONMENT", "production")
    with pytest.raises(ConfigurationError, match="runs only in development"):
        build_simulator(tmp_path)


async def test_a_taken_case_is_followed_by_signed_status_callbacks(tmp_path):
    seen: list[tuple[str, dict]] = []

    async def gateway(request: httpx.Request) -> httpx.Response:
        problem = check(
            dev_secret("polisen"),
            request.headers["X-Servicekontor-Timestamp"],
            request.headers["X-Servicekontor-Signature"],
            request.content,
            time.time(),
        )
        seen.append((problem or "ok", json.loads(request.content)))
        return httpx.Response(200, json={"accepted": True, "duplicate": False})

    app = build_simulator(tmp_path, callback_url="http://gateway", callback_delay=0.01)
    await app.state.sim.callbacks.http.aclose()
    app.state.sim.callbacks.http = httpx.AsyncClient(transport=httpx.MockTransport(gateway))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://sim") as sim:
        reference = (await send(sim, "k-1")).json()["reference"]
        await send(sim, "k-1")  # a duplicate starts no second series
        await eventually(lambda: asyncio.sleep(0, len(seen)), lambda n: n >= 4, timeout=5)
    await app.state.sim.callbacks.close()
    assert [s for s, _ in seen] == ["ok"] * 4
    assert [b["status"] for _, b in seen] == ["received", "in_progress", "decided", "closed"]
    assert {b["reference"] for _, b in seen} == {reference} and {b["case_id"] for _, b in seen} == {"k-1"}
