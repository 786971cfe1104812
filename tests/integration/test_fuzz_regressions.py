"""What the schemathesis fuzzing (tests/fuzz) found, kept as plain regression tests:

- a NUL character (0x00) in a path parameter reached PostgreSQL and came back as a 500
  ("invalid byte sequence for encoding UTF8"); in a body or the query it was stored in
  events that consumers then failed to write to their read models (routing keeps the
  question's text). Now any NUL in the input is a 422 before a route runs;
- the gateway's delivery history (``GET /v1/deliveries/{id}``, ``/v1/dead-letters/{id}``)
  gave SQLite's zone-less timestamps, which are not RFC 3339 date-times;
- a body that is not UTF-8 got a 400 the API description did not name, coded
  ``http_error``; the description also named FastAPI's ``{"detail": ...}`` body for 422,
  not the ``{"error": ...}`` the API sends, and left out 401/403/404/409/413/429, the
  export's CSV/Parquet and the cost allocation's 404.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime

import httpx
import pytest

from services.agency_gateway.bootstrap import bootstrap as gateway_bootstrap
from services.agency_gateway.config import GatewaySettings
from services.intake.bootstrap import bootstrap as intake_bootstrap
from services.intake.config import IntakeSettings
from services.reporting.bootstrap import bootstrap as reporting_bootstrap
from services.reporting.config import ReportingSettings
from shared import topics
from shared.db import sqlite_url
from shared.runtime import ServiceRuntime
from shared.tracking import Checkpoint
from tests.factories import case_routed_to_agency, envelope
from tests.helpers import auth


async def client_of(runtime: ServiceRuntime, data_dir) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=runtime.app)
    return httpx.AsyncClient(transport=transport, base_url="http://test", headers=auth(data_dir, "admin"))


@pytest.fixture
async def intake(tmp_path) -> AsyncIterator[httpx.AsyncClient]:
    settings = IntakeSettings(
        data_dir=tmp_path, intake_database_url=sqlite_url(tmp_path / "intake.db"),
        database_url=None, vault_database_url=None,
    )
    runtime = intake_bootstrap(settings)
    await runtime.init_db()
    async with await client_of(runtime, tmp_path) as client:
        yield client
    await runtime.close()


async def new_visit(client: httpx.AsyncClient) -> str:
    response = await client.post("/v1/visits", json={"office_id": "kiruna", "channel": "desk"})
    assert response.status_code == 201
    return response.json()["visit_id"]


def nul_refusal(response: httpx.Response) -> list:
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert all(d["type"] == "string_nul" for d in error["details"])
    return [d["location"] for d in error["details"]]


async def test_a_nul_in_a_path_parameter_is_a_422_not_a_database_error(intake):
    assert nul_refusal(await intake.get("/v1/visits/a%00b")) == [["path", "visit_id"]]
    response = await intake.post("/v1/visits/a%00b/call", json={"desk": "D1"})
    assert nul_refusal(response) == [["path", "visit_id"]]


async def test_a_nul_in_the_body_or_the_query_is_a_422_and_nothing_is_recorded(intake):
    vid = await new_visit(intake)
    response = await intake.post(f"/v1/visits/{vid}/questions", json={"text": "Pass\x00"})
    assert nul_refusal(response) == [["body", "text"]]
    response = await intake.post(f"/v1/visits/{vid}/call", json={"desk": "D\x00"})
    assert nul_refusal(response) == [["body", "desk"]]
    assert nul_refusal(await intake.get(f"/v1/visits/{vid}?x=%00")) == [["query", "x"]]
    visit = (await intake.get(f"/v1/visits/{vid}")).json()
    assert visit["questions"] == [] and visit["desk"] is None


async def test_an_escaped_backslash_u0000_is_text_not_a_nul(intake):
    vid = await new_visit(intake)
    response = await intake.post(f"/v1/visits/{vid}/questions", json={"text": "C:\\u0000"})
    assert response.status_code == 201, response.text


async def test_a_body_that_is_not_utf8_is_a_documented_400_with_the_error_body(intake):
    vid = await new_visit(intake)
    response = await intake.post(
        f"/v1/visits/{vid}/questions", content=b"\xff", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "bad_request"
    operation = (await intake.get("/openapi.json")).json()["paths"]["/v1/visits/{visit_id}/questions"]["post"]
    assert "400" in operation["responses"]


async def test_the_openapi_names_the_error_answers_with_the_body_they_have(intake):
    spec = (await intake.get("/openapi.json")).json()
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    assert spec["components"]["schemas"]["Error"]["required"] == ["error"]
    error_ref = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    question = spec["paths"]["/v1/visits/{visit_id}/questions"]["post"]["responses"]
    assert {"400", "401", "403", "404", "409", "413", "422", "429"} <= set(question)
    assert all(question[status]["content"] == error_ref for status in ("401", "404", "422"))
    health = spec["paths"]["/health"]["get"]["responses"]
    assert set(health) == {"200"}  # public, no input: no error answers to name


# The gateway's history timestamps ------------------------------------------------------


async def test_the_delivery_history_gives_zoned_timestamps(tmp_path):
    settings = GatewaySettings(
        data_dir=tmp_path, agency_gateway_database_url=sqlite_url(tmp_path / "gw.db"),
        database_url=None, vault_database_url=None,
    )
    runtime = gateway_bootstrap(settings)
    await runtime.init_db()
    event = case_routed_to_agency()
    await runtime.consumers[0].handle(envelope(event), Checkpoint(topics.ROUTING, 0, 1))
    try:
        async with await client_of(runtime, tmp_path) as client:
            body = (await client.get(f"/v1/deliveries/{event.question_id}")).json()
    finally:
        await runtime.close()
    assert body["history"]
    for entry in body["history"]:
        at = datetime.fromisoformat(entry["at"])
        assert at.utcoffset() is not None and at.utcoffset().total_seconds() == 0, entry["at"]


# Reporting's description ---------------------------------------------------------------


async def test_the_export_and_the_cost_allocation_describe_what_they_answer(tmp_path):
    settings = ReportingSettings(
        data_dir=tmp_path, reporting_database_url=sqlite_url(tmp_path / "reporting.db"), database_url=None
    )
    runtime = reporting_bootstrap(settings)
    spec = runtime.app.openapi()
    await runtime.close()
    export = spec["paths"]["/v1/export/{table}"]["get"]["responses"]["200"]["content"]
    assert set(export) == {"text/csv", "application/vnd.apache.parquet"}
    assert "404" in spec["paths"]["/v1/costs/allocation"]["get"]["responses"]
    json.dumps(spec)  # serialisable as served


# On PostgreSQL, where the NUL did the harm --------------------------------------------


@pytest.mark.realservers
async def test_on_postgresql_a_nul_in_a_path_parameter_is_a_422(real_servers, tmp_path):
    url = await real_servers.fresh_database()
    runtime = intake_bootstrap(
        IntakeSettings(data_dir=tmp_path, database_url=url, intake_database_url=None, vault_database_url=None)
    )
    await runtime.init_db()
    try:
        async with await client_of(runtime, tmp_path) as client:
            assert nul_refusal(await client.get("/v1/visits/a%00b")) == [["path", "visit_id"]]
            vid = await new_visit(client)
            response = await client.post(f"/v1/visits/{vid}/questions", json={"text": "Pass\x00"})
            assert nul_refusal(response) == [["body", "text"]]
    finally:
        await runtime.close()
