"""The gateway's HTTP API over its real SQLite store (no worker running: deliveries
stay pending, which is what these tests look at)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from services.agency_gateway.bootstrap import bootstrap
from services.agency_gateway.config import GatewaySettings
from shared import topics
from shared.db import sqlite_url
from shared.runtime import ServiceRuntime
from shared.tracking import Checkpoint
from tests.helpers import api_client
from tests.integration.gateway_support import routed


@pytest.fixture
async def gateway(tmp_path) -> AsyncIterator[ServiceRuntime]:
    runtime = bootstrap(
        GatewaySettings(
            data_dir=tmp_path, agency_gateway_database_url=sqlite_url(tmp_path / "gw.db")
        )
    )
    await runtime.init_db()
    yield runtime
    await runtime.close()


@pytest.fixture
async def api(gateway) -> AsyncIterator[httpx.AsyncClient]:
    async with api_client(gateway) as client:
        yield client


async def route(runtime: ServiceRuntime, agency: str, position: int) -> str:
    envelope = routed(
        agency, stream_version=1, office_id="umea", case_type="ovrigt", text="Fråga",
        personal_identity_number=None,
    )
    question_id = envelope.stream_id
    await runtime.consumers[0].handle(envelope, Checkpoint(topics.ROUTING, 0, position))
    return question_id


async def test_a_queued_delivery_is_shown_pending(gateway, api):
    question_id = await route(gateway, "polisen", 1)
    response = await api.get(f"/v1/deliveries/{question_id}")
    assert response.status_code == 200
    body = response.json()
    assert {k: body[k] for k in ("question_id", "status", "attempts", "agency")} == {
        "question_id": question_id,
        "status": "pending",
        "attempts": 0,
        "agency": "polisen",
    }
    assert body["agency_reference"] is None and body["last_error"] is None
    assert "case_payload" not in body and "text" not in body


async def test_an_unknown_delivery_is_a_404_json_error(api):
    response = await api.get(f"/v1/deliveries/{uuid.uuid4()}")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


async def test_the_list_filters_by_agency_and_status_and_counts_all_matches(gateway, api):
    for position, agency in enumerate(["polisen", "polisen", "polisen", "trafikverket"], 1):
        await route(gateway, agency, position)

    body = (await api.get("/v1/deliveries", params={"agency": "polisen", "limit": 2})).json()
    assert body["count"] == 3 and len(body["data"]) == 2
    assert {d["agency"] for d in body["data"]} == {"polisen"}
    assert (await api.get("/v1/deliveries", params={"status": "pending"})).json()["count"] == 4
    assert (await api.get("/v1/deliveries", params={"status": "delivered"})).json() == {
        "data": [],
        "count": 0,
    }


@pytest.mark.parametrize(
    "params", [{"limit": 0}, {"limit": 501}, {"status": "lost"}, {"agency": "DROP TABLE"}]
)
async def test_bad_list_parameters_are_a_422_json_error(api, params):
    response = await api.get("/v1/deliveries", params=params)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"


async def test_health_and_ready(api):
    assert (await api.get("/health")).json() == {"status": "ok"}
    assert (await api.get("/ready")).json() == {"ready": True, "checks": {"database": True}}
