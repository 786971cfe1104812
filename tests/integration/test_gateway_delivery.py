"""The gateway against its real SQLite store and the real simulator over real HTTP:
routed cases in through the EventConsumer, the delivery worker running."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from services.agency_gateway.bootstrap import bootstrap
from services.agency_gateway.config import GatewaySettings
from shared import topics
from shared.runtime import ServiceRuntime
from shared.signing import dev_secret, signed_headers
from shared.tracking import Checkpoint
from tests.integration.gateway_support import (
    delivered,
    feed,
    gateway_settings,
    routed,
)


@asynccontextmanager
async def started(settings: GatewaySettings) -> AsyncIterator[ServiceRuntime]:
    """A bootstrapped gateway with its delivery worker running."""
    runtime = bootstrap(settings)
    await runtime.init_db()
    worker = asyncio.create_task(runtime.workers[0]())
    try:
        yield runtime
    finally:
        worker.cancel()
        await asyncio.gather(worker, return_exceptions=True)
        await runtime.close()


@pytest.fixture
async def gateway(tmp_path, simulator) -> AsyncIterator[ServiceRuntime]:
    async with started(gateway_settings(tmp_path, simulator)) as runtime:
        yield runtime




async def gateway_events(runtime: ServiceRuntime, question_id: str) -> list[str]:
    log = await runtime.read_log(0, 1000)
    return [e.envelope.event_type for e in log if e.envelope.stream_id == question_id]


async def test_a_routed_case_is_delivered_with_the_simulators_reference(gateway, simulator):
    envelope = routed()
    question_id = envelope.stream_id
    await feed(gateway, envelope)

    result = await delivered(gateway, question_id)
    received = (await simulator.get(f"/v1/received/{question_id}")).json()
    assert result["status"] == "delivered" and result["attempts"] == 1
    assert result["agency_reference"] == received["reference"]
    assert received["reference"].startswith("SKV-")
    assert await gateway_events(gateway, question_id) == [
        "gateway.CaseQueuedForDelivery",
        "gateway.CaseForwarded",
    ]


async def test_redelivering_the_same_event_makes_no_second_case(gateway, simulator):
    envelope = routed()
    await feed(gateway, envelope, 1)
    await feed(gateway, envelope, 1)
    await delivered(gateway, envelope.stream_id)
    await feed(gateway, envelope, 1)
    await feed(gateway, routed(question_id=envelope.stream_id), 2)  # new event, same question

    stats = (await simulator.get("/v1/received")).json()
    assert (stats["unique_cases"], stats["total_requests"]) == (1, 1)
    assert len(await gateway_events(gateway, envelope.stream_id)) == 2


async def test_503_twice_then_201_ends_delivered_after_three_attempts(gateway, simulator):
    fault = {"status": 503, "count": 2}
    assert (await simulator.post("/v1/agencies/polisen/faults", json=fault)).status_code == 200
    envelope = routed("polisen")
    await feed(gateway, envelope)

    result = await delivered(gateway, envelope.stream_id)
    assert (result["status"], result["attempts"]) == ("delivered", 3)
    assert result["agency_reference"].startswith("POL-")
    polisen = (await simulator.get("/v1/received")).json()["by_agency"]["polisen"]
    assert (polisen["requests"], polisen["unique_cases"], polisen["duplicates"]) == (3, 1, 0)
    assert await gateway_events(gateway, envelope.stream_id) == [
        "gateway.CaseQueuedForDelivery",
        "gateway.CaseForwardingFailed",
        "gateway.CaseForwardingFailed",
        "gateway.CaseForwarded",
    ]


async def test_a_case_the_agency_got_before_a_crash_is_recognised(gateway, simulator):
    """As if a previous gateway process had POSTed and died before its commit."""
    envelope = routed("trafikverket")
    body = {
        "case_id": envelope.stream_id,
        "visit_id": "v",
        "office_id": "malmo",
        "agency": "trafikverket",
        "case_type": "korkort",
        "text": "?",
    }
    raw = json.dumps(body).encode()
    headers = signed_headers(dev_secret("trafikverket"), int(time.time()), raw)
    headers["Idempotency-Key"] = envelope.stream_id
    first = await simulator.post("/v1/agencies/trafikverket/cases", content=raw, headers=headers)
    await feed(gateway, envelope)

    result = await delivered(gateway, envelope.stream_id)
    assert result["status"] == "delivered"
    assert result["agency_reference"] == first.json()["reference"]
    assert (await simulator.get("/v1/received")).json()["unique_cases"] == 1


async def test_a_case_the_agency_refuses_is_dead_lettered(gateway, simulator):
    envelope = routed("nasa")  # no such agency: the simulator answers 404
    await feed(gateway, envelope)

    result = await delivered(gateway, envelope.stream_id)
    assert (result["status"], result["attempts"]) == ("dead_lettered", 1)
    assert result["last_error"].startswith("HTTP 404")
    assert (await gateway_events(gateway, envelope.stream_id))[-1] == "gateway.CaseDeadLettered"


async def test_two_replicas_on_one_database_never_send_a_case_twice(tmp_path, simulator):
    """Both workers claim batches from the same table at once (on SQLite, the second
    writer of a stale snapshot is refused; on PostgreSQL, ``SKIP LOCKED``, which
    test_gateway_postgres.py runs on the real server): every case reaches the agency
    exactly once, and each outcome is recorded once."""
    settings = gateway_settings(tmp_path, simulator, agency_max_in_flight_per_agency=8)
    async with started(settings) as first, started(settings) as second:
        cases = [routed() for _ in range(60)]
        await first.consumers[0].handle_batch(
            [(c, Checkpoint(topics.ROUTING, 0, i)) for i, c in enumerate(cases, 1)]
        )
        first.deps.worker.wake()
        second.deps.worker.wake()
        for case in cases:
            assert (await delivered(first, case.stream_id))["status"] == "delivered"

    stats = (await simulator.get("/v1/received")).json()
    assert (stats["unique_cases"], stats["total_requests"], stats["duplicates"]) == (60, 60, 0)
    log = await first_log_counts(tmp_path)
    assert log == {"gateway.CaseQueuedForDelivery": 60, "gateway.CaseForwarded": 60}


async def first_log_counts(tmp_path) -> dict[str, int]:
    runtime = bootstrap(gateway_settings_for_reading(tmp_path))
    try:
        return dict(Counter(e.envelope.event_type for e in await runtime.read_log(0, 10_000)))
    finally:
        await runtime.close()


def gateway_settings_for_reading(tmp_path) -> GatewaySettings:
    return GatewaySettings(
        data_dir=tmp_path / "gateway",
        agency_gateway_database_url=f"sqlite+aiosqlite:///{tmp_path / 'gateway' / 'agency_gateway.db'}",
    )
