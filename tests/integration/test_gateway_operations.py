"""Operators and agencies on the gateway's API over its real SQLite store: dead letters
(list, inspect, replay one or all, each naming its actor), signed status callbacks, the
delivery's agency status and history, and the agencies' live state."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
from structlog.testing import capture_logs

from services.agency_gateway.bootstrap import bootstrap
from services.agency_gateway.config import GatewaySettings
from services.agency_gateway.domain.outcomes import Rejected
from services.agency_gateway.handlers import record_outcome
from shared import topics
from shared.db import sqlite_url
from shared.runtime import ServiceRuntime
from shared.signing import dev_secret, signed_headers
from shared.tracking import Checkpoint
from tests.helpers import api_client, auth
from tests.integration.gateway_support import routed

PIN = "198112189876"


@pytest.fixture
async def gateway(tmp_path) -> AsyncIterator[ServiceRuntime]:
    url = sqlite_url(tmp_path / "gw.db")
    runtime = bootstrap(GatewaySettings(data_dir=tmp_path, agency_gateway_database_url=url))
    await runtime.init_db()
    yield runtime
    await runtime.close()


@pytest.fixture
async def api(gateway) -> AsyncIterator[httpx.AsyncClient]:
    async with api_client(gateway) as client:
        yield client


async def route(runtime: ServiceRuntime, agency: str = "polisen") -> str:
    envelope = routed(
        agency, stream_version=1, office_id="lund", case_type="pass", text="Mitt pass",
        personal_identity_number=PIN,
    )
    question_id = envelope.stream_id
    position = int(time.monotonic_ns())
    await runtime.consumers[0].handle(envelope, Checkpoint(topics.ROUTING, 0, position))
    return question_id


async def dead_letter(runtime: ServiceRuntime, agency: str = "polisen") -> str:
    question_id = await route(runtime, agency)
    policy = runtime.settings.retry_policy(agency)
    await record_outcome(question_id, Rejected("HTTP 401: bad signature"), runtime.uow_factory(), policy, lambda: 0)
    return question_id


async def test_dead_letters_are_listed_and_inspected_without_the_case_content(gateway, api):
    question_id = await dead_letter(gateway)
    await route(gateway)  # pending: not a dead letter
    listed = (await api.get("/v1/dead-letters")).json()
    assert listed["count"] == 1 and listed["data"][0]["question_id"] == question_id
    detail = await api.get(f"/v1/dead-letters/{question_id}")
    body = detail.json()
    assert detail.status_code == 200 and body["last_error"] == "HTTP 401: bad signature"
    assert [h["event"] for h in body["history"]] == ["CaseQueuedForDelivery", "CaseDeadLettered"]
    assert "personal_identity_number" in body["held_fields"] and PIN not in detail.text


async def test_replaying_one_records_the_token_subject_as_actor_and_makes_it_pending(gateway, api):
    question_id = await dead_letter(gateway)
    eva = auth(gateway.settings.data_dir, "admin", subject="Eva Ek")
    response = await api.post(
        f"/v1/dead-letters/{question_id}/replay",
        json={"actor": "Someone Else", "reason": "key fixed"},  # the body cannot name the actor
        headers=eva,
    )
    assert response.status_code == 200 and response.json()["actor"] == "Eva Ek"
    delivery = (await api.get(f"/v1/deliveries/{question_id}")).json()
    assert (delivery["status"], delivery["replays"]) == ("pending", 1)
    replayed = delivery["history"][-1]
    assert replayed["event"] == "DeadLetterReplayed"
    assert (replayed["details"]["actor"], replayed["details"]["reason"]) == ("Eva Ek", "key fixed")
    again = await api.post(f"/v1/dead-letters/{question_id}/replay", json={}, headers=eva)
    assert again.status_code == 409 and again.json()["error"]["code"] == "conflict"


@pytest.mark.parametrize(
    ("role", "body", "status"),
    [("admin", {"actor": ""}, 422), ("admin", {"reason": "x", "extra": 1}, 422),
     ("supervisor", {}, 403), ("desk", {}, 403), (None, {}, 401)],
)
async def test_a_replay_refused_changes_nothing(gateway, api, role, body, status):
    question_id = await dead_letter(gateway)
    headers = auth(gateway.settings.data_dir, role) if role else {"Authorization": ""}
    response = await api.post(f"/v1/dead-letters/{question_id}/replay", json=body, headers=headers)
    assert response.status_code == status, response.text
    assert (await api.get(f"/v1/deliveries/{question_id}")).json()["status"] == "dead_lettered"


async def test_replay_all_of_one_agency_leaves_the_others(gateway, api):
    polisen = {await dead_letter(gateway) for _ in range(2)}
    other = await dead_letter(gateway, "trafikverket")
    response = await api.post("/v1/dead-letters/replay", json={"actor": "ops", "agency": "polisen"})
    assert set(response.json()["question_ids"]) == polisen
    assert (await api.get("/v1/dead-letters")).json()["data"][0]["question_id"] == other
    assert (await api.get(f"/v1/dead-letters/{other}")).status_code == 200
    assert (await api.get(f"/v1/dead-letters/{polisen.pop()}")).status_code == 404


def callback(question_id: str, callback_id: str = "cb-1", status: str = "received") -> bytes:
    body = {
        "callback_id": callback_id,
        "case_id": question_id,
        "status": status,
        "reference": "POL-2025-000001",
        "occurred_at": datetime.now(UTC).isoformat(),
        "note": f"Ärendet gäller {PIN}",
    }
    return json.dumps(body).encode()


async def post_callback(api, raw: bytes, agency="polisen", secret=None, at=None) -> httpx.Response:
    stamp = int(time.time() if at is None else at)
    headers = signed_headers(secret or dev_secret(agency), stamp, raw)
    return await api.post(f"/v1/agencies/{agency}/callbacks", content=raw, headers=headers)


async def test_a_signed_callback_shows_the_agency_status_to_the_desk_once(gateway, api):
    question_id = await route(gateway)
    first = await post_callback(api, callback(question_id))
    assert first.status_code == 200 and first.json() == {"accepted": True, "duplicate": False}
    replay = await post_callback(api, callback(question_id))
    assert replay.json() == {"accepted": True, "duplicate": True}
    await post_callback(api, callback(question_id, "cb-2", "decided"))
    delivery = (await api.get(f"/v1/deliveries/{question_id}")).json()
    assert delivery["agency_status"] == "decided"
    updates = [h for h in delivery["history"] if h["event"] == "AgencyCaseUpdated"]
    assert [u["details"]["status"] for u in updates] == ["received", "decided"]
    assert PIN not in json.dumps(delivery)


@pytest.mark.parametrize(
    ("secret", "age", "reason"),
    [("not-the-secret", 0, "bad_signature"), (None, 3600, "stale_timestamp")],
)
async def test_a_bad_or_stale_callback_is_a_401_logged_without_its_body(gateway, api, secret, age, reason):
    question_id = await route(gateway)
    raw = callback(question_id)
    with capture_logs() as logs:
        response = await post_callback(api, raw, secret=secret, at=time.time() - age)
    assert response.status_code == 401 and response.json()["error"]["details"]["reason"] == reason
    [refused] = [entry for entry in logs if entry["event"] == "callback_refused"]
    assert (refused["agency"], refused["reason"], refused["body_bytes"]) == ("polisen", reason, len(raw))
    assert question_id not in str(logs) and "POL-2025" not in str(logs)
    assert (await api.get(f"/v1/deliveries/{question_id}")).json()["agency_status"] is None


async def test_a_callback_for_another_agencys_case_or_a_bad_body_is_refused(gateway, api):
    question_id = await route(gateway, "skatteverket")
    assert (await post_callback(api, callback(question_id))).status_code == 404
    assert (await post_callback(api, b'{"status": "lost"}')).status_code == 422


async def test_the_agencies_endpoint_shows_configuration_and_breakers_but_no_secret(api):
    body = (await api.get("/v1/agencies")).json()
    assert body["polisen"]["breaker"] == "closed" and body["polisen"]["uses_simulator"]
    assert body["polisen"]["development_secret"] is True
    assert dev_secret("polisen") not in json.dumps(body)


async def test_an_agency_reaches_only_its_own_cases(gateway, api):
    """Agency A cannot read or update agency B's cases; its list holds only its own."""
    polisen_case = await route(gateway, "polisen")
    skatteverket_case = await route(gateway, "skatteverket")
    data_dir = gateway.settings.data_dir
    polisen, skatteverket = auth(data_dir, "agency", "polisen"), auth(data_dir, "agency", "skatteverket")

    assert (await api.get(f"/v1/deliveries/{polisen_case}", headers=polisen)).status_code == 200
    refused = await api.get(f"/v1/deliveries/{polisen_case}", headers=skatteverket)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    listed = (await api.get("/v1/deliveries", headers=skatteverket)).json()
    assert [d["question_id"] for d in listed["data"]] == [skatteverket_case]
    other = await api.get("/v1/deliveries", params={"agency": "polisen"}, headers=skatteverket)
    assert other.status_code == 403

    raw = callback(polisen_case)
    stamp = int(time.time())
    as_skatteverket = await api.post(
        "/v1/agencies/polisen/callbacks", content=raw,
        headers={**signed_headers(dev_secret("polisen"), stamp, raw), **skatteverket},
    )
    assert as_skatteverket.status_code == 403
    assert (await api.get(f"/v1/deliveries/{polisen_case}")).json()["agency_status"] is None
    as_polisen = await api.post(
        "/v1/agencies/polisen/callbacks", content=raw,
        headers={**signed_headers(dev_secret("polisen"), stamp, raw), **polisen},
    )
    assert as_polisen.status_code == 200
    assert (await api.get(f"/v1/deliveries/{polisen_case}")).json()["agency_status"] == "received"
    # An agency token is for callbacks and its own deliveries only.
    assert (await api.get("/v1/dead-letters", headers=polisen)).status_code == 403
    assert (await api.get("/v1/agencies", headers=polisen)).status_code == 403
