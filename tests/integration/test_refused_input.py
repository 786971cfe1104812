"""Input that used to answer 500 is refused with a 4xx JSON error (issue 15, finding 6):
signature headers with characters ``str.isdigit`` takes but ``int`` does not (``²``) or
that are not ASCII, at the gateway's callback route and at the agency simulator; genuine
tokens with claims of the wrong type; callbacks dated far in the future or before the
case existed. And the dead-letter replay's free-text reason is masked where it enters."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from services.agency_simulator.app import build_simulator
from shared.auth import auth_dir, ensure_keys
from shared.signing import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    dev_secret,
    signed_headers,
)
from tests.integration import test_gateway_operations as operations
from tests.integration.test_gateway_operations import dead_letter, route

# The gateway on SQLite and a client of its API: the operations tests' fixtures.
gateway, api = operations.gateway, operations.api

# Headers as they arrive: bytes, decoded by the server as Latin-1.
ODD_HEADERS = [
    ("²".encode("latin-1"), b"v1=00"),  # "²".isdigit() is True, int("²") raises
    ("¹²³".encode("latin-1"), b"v1=00"),
    (b"NOW", "v1=é".encode("latin-1")),  # hmac.compare_digest refuses non-ASCII str
    (b"NOW", b"v1=\x7f"),
    (b"NOW", b"v1=" + b"a" * 5000),
]
ODD_IDS = ["superscript-two", "superscripts", "non-ascii-signature", "del-character", "huge-signature"]


def odd(stamp: bytes, signature: bytes) -> dict[str, bytes]:
    stamp = str(int(time.time())).encode() if stamp == b"NOW" else stamp
    return {TIMESTAMP_HEADER: stamp, SIGNATURE_HEADER: signature, "content-type": b"application/json"}


def assert_json_error(response: httpx.Response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["error"]["code"] == code, body
    return body


@pytest.fixture
async def sim(tmp_path) -> AsyncIterator[httpx.AsyncClient]:
    app = build_simulator(tmp_path, keys_dir=auth_dir(tmp_path))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://sim") as client:
        yield client
    await app.state.store.close()


# Signature headers --------------------------------------------------------------------


@pytest.mark.parametrize(("stamp", "signature"), ODD_HEADERS, ids=ODD_IDS)
async def test_odd_signature_headers_at_the_gateway_are_a_401(gateway, api, stamp, signature):
    question_id = await route(gateway)
    body = json.dumps({"callback_id": "cb", "case_id": question_id, "status": "received",
                       "occurred_at": datetime.now(UTC).isoformat()}).encode()
    response = await api.post("/v1/agencies/polisen/callbacks", content=body, headers=odd(stamp, signature))
    refused = assert_json_error(response, 401, "unauthorized")
    assert refused["error"]["details"]["reason"] in {"bad_timestamp", "bad_signature"}
    assert (await api.get(f"/v1/deliveries/{question_id}")).json()["agency_status"] is None


@pytest.mark.parametrize(("stamp", "signature"), ODD_HEADERS, ids=ODD_IDS)
async def test_odd_signature_headers_at_the_simulator_are_a_401(sim, stamp, signature):
    headers = odd(stamp, signature) | {"Idempotency-Key": b"k-1"}
    response = await sim.post("/v1/agencies/polisen/cases", content=b"{}", headers=headers)
    refused = assert_json_error(response, 401, "unauthorized")
    assert refused["error"]["details"]["reason"] in {"bad_timestamp", "bad_signature"}
    assert (await sim.get("/v1/received")).json()["unique_cases"] == 0


# Tokens with claims of the wrong type -------------------------------------------------


def token(data_dir, **claims) -> str:
    now = int(time.time())
    body = {"iss": "servicekontor", "aud": "servicekontor", "sub": "x", "role": "admin",
            "iat": now, "exp": now + 60} | claims
    key = serialization.load_pem_private_key(ensure_keys(auth_dir(data_dir))[0], password=None)
    return jwt.encode(body, key, algorithm="EdDSA")


@pytest.mark.parametrize(
    "claims",
    [{"role": ["admin"]}, {"role": {"r": "admin"}}, {"role": "agency", "agency": ["polisen"]},
     {"sub": ["x"]}, {"sub": 1}, {"scope": ["dead_letters:read"]}, {"agency": {"a": 1}}],
    ids=["role-list", "role-object", "agency-list", "sub-list", "sub-number", "scope-list", "agency-object"],
)
async def test_a_signed_token_with_a_claim_of_the_wrong_type_is_a_401(gateway, api, claims):
    headers = {"Authorization": f"Bearer {token(gateway.settings.data_dir, **claims)}"}
    for path in ("/v1/agencies", "/v1/dead-letters", "/v1/deliveries"):
        response = await api.get(path, headers=headers)
        assert_json_error(response, 401, "unauthenticated")
        assert response.headers["www-authenticate"].startswith("Bearer")


# Callback dates -----------------------------------------------------------------------


async def post_callback(api, question_id: str, occurred_at: str, callback_id: str = "cb") -> httpx.Response:
    raw = json.dumps({"callback_id": callback_id, "case_id": question_id, "status": "in_progress",
                      "occurred_at": occurred_at}).encode()
    headers = signed_headers(dev_secret("polisen"), int(time.time()), raw)
    return await api.post("/v1/agencies/polisen/callbacks", content=raw, headers=headers)


@pytest.mark.parametrize(
    "occurred_at",
    [
        "9999-12-31T23:59:59Z",
        "9999-12-31T23:59:59-23:59",  # no UTC equivalent: compared, never converted
        timedelta(minutes=6),  # from now, when the test runs (not when it is collected)
        "0001-01-01T00:00:00Z",
        "0001-01-01T00:00:00+23:59",
        "1970-01-01T00:00:00Z",
        timedelta(minutes=-6),  # the case was queued just now: more than the allowed skew before
        "2025-06-01T10:00:00",  # no offset
    ],
    ids=["year-9999", "year-9999-offset", "six-minutes-ahead", "year-1", "year-1-offset", "epoch",
         "before-the-case", "naive"],
)
async def test_a_callback_dated_outside_the_window_is_a_422_and_changes_nothing(gateway, api, occurred_at):
    question_id = await route(gateway)
    if isinstance(occurred_at, timedelta):
        occurred_at = (datetime.now(UTC) + occurred_at).isoformat()
    response = await post_callback(api, question_id, occurred_at)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] in {"validation_error", "invalid_input"}
    delivery = (await api.get(f"/v1/deliveries/{question_id}")).json()
    assert delivery["agency_status"] is None
    assert not [h for h in delivery["history"] if h["event"] == "AgencyCaseUpdated"]
    # The callback id was not used up: the same id with a sane date is applied.
    again = await post_callback(api, question_id, datetime.now(UTC).isoformat())
    assert again.json() == {"accepted": True, "duplicate": False}


@pytest.mark.parametrize("skew", [timedelta(minutes=-4), timedelta(minutes=4), timedelta(0)],
                         ids=["four-minutes-before-the-case", "four-minutes-ahead", "now"])
async def test_a_callback_within_five_minutes_of_clock_skew_is_accepted(gateway, api, skew):
    question_id = await route(gateway)
    response = await post_callback(api, question_id, (datetime.now(UTC) + skew).isoformat())
    assert response.json() == {"accepted": True, "duplicate": False}


# The replay's reason ------------------------------------------------------------------


@pytest.mark.parametrize("path", ["one", "all"])
async def test_a_replay_reason_is_stored_masked(gateway, api, path):
    question_id = await dead_letter(gateway)
    reason = "Anna 198112189876 ringde, 070-123 45 67, anna.svensson@example.se"
    url = f"/v1/dead-letters/{question_id}/replay" if path == "one" else "/v1/dead-letters/replay"
    assert (await api.post(url, json={"reason": reason})).status_code == 200
    history = (await api.get(f"/v1/deliveries/{question_id}")).json()["history"]
    [replayed] = [h for h in history if h["event"] == "DeadLetterReplayed"]
    stored = json.dumps(replayed["details"], ensure_ascii=False)
    assert "Anna" in stored and "ringde" in stored
    for personal in ("198112189876", "070-123 45 67", "anna.svensson@example.se"):
        assert personal not in stored


async def test_an_outage_for_an_unknown_agency_is_a_422_not_a_404(sim):
    """Found by fuzzing the simulator: the agency is in the body, not the path."""
    response = await sim.post("/v1/admin/outages", json={"agency": "", "seconds": 5})
    assert_json_error(response, 422, "invalid_input")
