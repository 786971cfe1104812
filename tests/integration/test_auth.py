"""Authentication on every route of every service: 401 without a (valid) token, 403 with
a role that lacks the route's scope, through with one that has it, 429 over the client's
rate limit. ``SCOPES`` is the contract (docs/security.md lists it): a route missing here
fails the test, so no route is added without deciding who may call it."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from servicekontor.runner import bootstrap_service, service_settings
from shared.auth import ROLE_SCOPES, TokenIssuer
from shared.runtime import ServiceRuntime
from tests.helpers import auth, token

SCOPES: dict[str, dict[tuple[str, str], str]] = {
    "intake": {
        ("POST", "/v1/visits"): "visits:write",
        ("POST", "/v1/visits/{visit_id}/call"): "visits:call",
        ("POST", "/v1/visits/{visit_id}/questions"): "questions:write",
        ("POST", "/v1/questions/{question_id}/resolution"): "questions:resolve",
        ("POST", "/v1/visits/{visit_id}/end"): "visits:write",
        ("GET", "/v1/visits/{visit_id}"): "visits:read",
        ("GET", "/v1/visits/{visit_id}/overview"): "visits:read",
        ("DELETE", "/v1/visits/{visit_id}/personal-data"): "personal_data:erase",
        ("GET", "/v1/offices"): "offices:read",
        ("GET", "/v1/offices/{office_id}"): "offices:read",
        ("POST", "/v1/offices/{office_id}/desks/{desk}/open"): "visits:call",
        ("POST", "/v1/offices/{office_id}/desks/{desk}/close"): "visits:call",
        ("POST", "/v1/offices/{office_id}/desks/{desk}/call-next"): "visits:call",
        ("POST", "/v1/visits/{visit_id}/recall"): "visits:call",
        ("POST", "/v1/visits/{visit_id}/no-show"): "visits:call",
        ("POST", "/v1/visits/{visit_id}/transfer"): "visits:call",
        ("GET", "/v1/offices/{office_id}/queue"): "queue:read",
        ("GET", "/v1/offices/{office_id}/queue/stream"): "queue:read",
        ("GET", "/v1/offices/{office_id}/slots"): "slots:read",
        ("POST", "/v1/offices/{office_id}/slots"): "slots:publish",
        ("PUT", "/v1/offices/{office_id}/video-rooms"): "rooms:write",
        ("POST", "/v1/bookings"): "bookings:write",
        ("GET", "/v1/bookings/{booking_id}"): "bookings:read",
        ("GET", "/v1/offices/{office_id}/bookings"): "bookings:read",
        ("DELETE", "/v1/bookings/{booking_id}"): "bookings:cancel",
        ("POST", "/v1/bookings/check-in"): "bookings:check_in",
        ("POST", "/v1/bookings/{booking_id}/outcome"): "bookings:write",
        ("DELETE", "/v1/bookings/{booking_id}/personal-data"): "personal_data:erase",
    },
    "routing": {
        ("GET", "/v1/questions/{question_id}/decision"): "decisions:read",
        ("POST", "/v1/questions/{question_id}/override"): "decisions:override",
    },
    "agency_gateway": {
        ("GET", "/v1/deliveries/{question_id}"): "deliveries:read",
        ("GET", "/v1/deliveries"): "deliveries:read",
        ("GET", "/v1/agencies"): "ops:read",
        ("GET", "/v1/dead-letters"): "dead_letters:read",
        ("GET", "/v1/dead-letters/{question_id}"): "dead_letters:read",
        ("POST", "/v1/dead-letters/replay"): "dead_letters:replay",
        ("POST", "/v1/dead-letters/{question_id}/replay"): "dead_letters:replay",
        ("POST", "/v1/agencies/{agency}/callbacks"): "callbacks:write",
        ("POST", "/v1/agencies/{agency}/meeting-callbacks"): "callbacks:write",  # issue 16
        ("POST", "/v1/agency/slots"): "slots:publish",
    },
    "reporting": {
        **{("GET", f"/v1/stats/{name}"): "stats:read" for name in (
            "visits", "case-types", "summary", "offices", "time-of-day", "waiting", "trends",
            "level-mix", "destinations", "forwarding", "overrides", "satisfaction", "waits",
            "workload", "quality", "repeat-contacts", "meetings")},
        ("GET", "/v1/forecast/visits"): "stats:read",
        ("GET", "/v1/forecast/staffing"): "stats:read",
        ("GET", "/v1/costs/allocation"): "stats:read",
        ("GET", "/v1/export/tables"): "exports:read",
        ("GET", "/v1/export/steering/{figure}"): "exports:read",
        ("GET", "/v1/export/{table}"): "exports:read",
        ("GET", "/v1/audit"): "audit:read",
    },
}
OPS = {("GET", "/ready"): "ops:read", ("GET", "/metrics"): "ops:read"}
# ``office_id`` names no office, so an admitted call to the queue stream answers 404 at
# once instead of streaming forever.
SAMPLE = {
    "visit_id": "v-1", "question_id": "q-1", "agency": "polisen", "table": "fact_questions",
    "office_id": "no-such-office", "desk": "3", "figure": "workload",
}
SAMPLE.setdefault("booking_id", "b-1")  # intake's bookings (docs/bookings.md)


@pytest.fixture(params=list(SCOPES))
async def runtime(request, tmp_path) -> AsyncIterator[ServiceRuntime]:
    data_dir: Path = tmp_path / request.param
    built = bootstrap_service(request.param, service_settings(request.param, {"data_dir": data_dir}), None)
    await built.init_db()
    yield built
    await built.close()


async def call(runtime: ServiceRuntime, method: str, path: str, headers: dict[str, str]) -> httpx.Response:
    url = path.format(**SAMPLE)
    transport = httpx.ASGITransport(app=runtime.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://svc") as client:
        body = None if method in ("GET", "DELETE") else {}
        return await client.request(method, url, headers=headers, json=body)


def operations(runtime: ServiceRuntime) -> dict[tuple[str, str], str]:
    return {**SCOPES[runtime.name], **OPS}


def test_the_scope_table_names_every_route_of_the_service(runtime):
    paths = runtime.app.openapi()["paths"]
    served = {(method.upper(), path) for path, ops in paths.items() for method in ops if path != "/health"}
    assert served == set(SCOPES[runtime.name]) | {("GET", "/ready")}


async def test_every_route_without_a_token_is_401_with_a_json_error(runtime):
    for method, path in operations(runtime):
        response = await call(runtime, method, path, {})
        assert response.status_code == 401, (method, path, response.text)
        assert response.json()["error"]["code"] == "unauthenticated"
        assert response.headers["www-authenticate"].startswith("Bearer")
    assert (await call(runtime, "GET", "/health", {})).status_code == 200


async def test_every_route_refuses_a_role_without_its_scope_and_admits_one_with_it(runtime):
    data_dir = runtime.settings.data_dir
    for (method, path), scope in operations(runtime).items():
        for role, scopes in ROLE_SCOPES.items():
            headers = auth(data_dir, role, "polisen" if role == "agency" else None)
            response = await call(runtime, method, path, headers)
            status = response.status_code
            if scope in scopes:  # through auth (the callback's own signature check may still say 401)
                code = response.json()["error"]["code"] if status >= 400 else None
                assert status != 403 and code != "unauthenticated", (method, path, role, status)
            else:
                assert status == 403, (method, path, role, status)


def foreign_token() -> str:
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return TokenIssuer(pem).issue("intruder", "admin")


async def test_a_forged_expired_or_malformed_token_is_401(runtime):
    data_dir = runtime.settings.data_dir
    private_pem = (Path(data_dir).resolve() / "auth" / "private.pem").read_bytes()
    key = serialization.load_pem_private_key(private_pem, password=None)
    now = int(time.time())
    expired = jwt.encode(
        {"iss": "servicekontor", "aud": "servicekontor", "sub": "old", "role": "admin",
         "iat": now - 7200, "exp": now - 3600}, key, algorithm="EdDSA",
    )
    unknown_role = jwt.encode(
        {"iss": "servicekontor", "aud": "servicekontor", "sub": "x", "role": "root",
         "iat": now, "exp": now + 60}, key, algorithm="EdDSA",
    )
    unsigned = jwt.encode({"sub": "x", "role": "admin", "exp": now + 60}, None, algorithm="none")
    for bad in (foreign_token(), expired, unknown_role, unsigned, "not-a-token", token(data_dir)[:-4]):
        response = await call(runtime, "GET", "/ready", {"Authorization": f"Bearer {bad}"})
        assert response.status_code == 401, bad
    assert (await call(runtime, "GET", "/ready", auth(data_dir, "monitor"))).status_code == 200


async def test_a_client_over_its_rate_limit_gets_429_and_others_do_not(tmp_path):
    settings = service_settings("routing", {"data_dir": tmp_path, "rate_limit": "3/minute"})
    runtime = bootstrap_service("routing", settings, None)
    await runtime.init_db()
    try:
        desk = auth(tmp_path, "desk", subject="desk-1")
        answers = [await call(runtime, "GET", "/v1/questions/q-1/decision", desk) for _ in range(4)]
        assert [a.status_code for a in answers] == [404, 404, 404, 429]
        assert answers[-1].json()["error"]["code"] == "rate_limited"
        assert int(answers[-1].headers["retry-after"]) >= 1
        other = auth(tmp_path, "desk", subject="desk-2")
        assert (await call(runtime, "GET", "/v1/questions/q-1/decision", other)).status_code == 404
    finally:
        await runtime.close()


async def test_the_token_is_checked_before_the_input(tmp_path):
    runtime = bootstrap_service("intake", service_settings("intake", {"data_dir": tmp_path}), None)
    await runtime.init_db()
    try:
        path = "/v1/visits/a%00b"
        assert (await call(runtime, "GET", path, {})).status_code == 401
        assert (await call(runtime, "GET", path, auth(tmp_path, "kiosk"))).status_code == 403
        refused = await call(runtime, "GET", path, auth(tmp_path, "desk"))
        assert refused.status_code == 422 and refused.json()["error"]["code"] == "validation_error"
    finally:
        await runtime.close()
