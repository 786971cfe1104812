"""The gateway across restarts and wired to the embedded bus by ``bootstrap``: real
SQLite store, the real simulator over real HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

from services.agency_gateway.bootstrap import bootstrap
from services.agency_gateway.config import GatewaySettings
from shared import topics
from shared.bus import EmbeddedBus
from shared.eventstore import LoggedEvent
from shared.runtime import ServiceRuntime
from tests.integration.gateway_support import (
    delivered,
    delivery,
    eventually,
    feed,
    gateway_settings,
    routed,
)


@asynccontextmanager
async def started(
    settings: GatewaySettings, bus: EmbeddedBus | None = None, clock=None
) -> AsyncIterator[ServiceRuntime]:
    """A bootstrapped gateway with its delivery worker (and the bus, if any) running."""
    runtime = bootstrap(settings, bus)
    await runtime.init_db()
    if clock is not None:
        runtime.deps.worker.clock = clock
    if bus is not None:
        for consumer in runtime.consumers[:1]:  # routing's cases; no intake log here for bookings
            bus.subscribe(consumer)
        runtime.workers.append(bus.run)
    tasks = [asyncio.create_task(work()) for work in runtime.workers]
    try:
        yield runtime
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await runtime.close()




async def test_a_restarted_gateway_resumes_the_retry_schedule_from_its_table(tmp_path, simulator):
    await simulator.post("/v1/agencies/polisen/faults", json={"status": 503, "count": 1})
    settings = gateway_settings(
        tmp_path,
        simulator,
        agency_retry_initial_seconds=60,
        agency_retry_max_seconds=60,
        agency_retry_jitter=0,
    )
    envelope = routed("polisen")
    async with started(settings) as first:
        await feed(first, envelope)
        result = await failed_once(first, envelope.stream_id)
    retry_at = datetime.fromisoformat(result["next_attempt_at"])
    assert retry_at > datetime.now(UTC) + timedelta(seconds=55)

    def later() -> datetime:
        return datetime.now(UTC) + timedelta(seconds=61)

    async with started(settings, clock=later) as second:
        result = await delivered(second, envelope.stream_id)
    assert (result["status"], result["attempts"]) == ("delivered", 2)
    polisen = (await simulator.get("/v1/received")).json()["by_agency"]["polisen"]
    assert (polisen["requests"], polisen["unique_cases"], polisen["duplicates"]) == (2, 1, 0)


async def failed_once(runtime: ServiceRuntime, question_id: str) -> dict:
    async def failed() -> bool:
        return (await delivery(runtime, question_id))["status"] == "failed"

    await eventually(failed)
    return await delivery(runtime, question_id)


async def test_bootstrap_wires_consumer_and_log_to_the_bus_and_resumes_after_restart(
    tmp_path, simulator
):
    routing_log = [LoggedEvent(1, routed("kronofogden")), LoggedEvent(2, routed("polisen"))]
    reads_from: list[int] = []

    async def read_routing(after: int, limit: int) -> list[LoggedEvent]:
        reads_from.append(after)
        return [item for item in routing_log if item.position > after][:limit]

    settings = gateway_settings(tmp_path, simulator)
    for restart in (False, True):  # the second time over the same database
        bus = EmbeddedBus(idle_poll_seconds=30)
        bus.register_log(topics.ROUTING, read_routing)
        reads_from.clear()
        if restart:
            routing_log.append(LoggedEvent(3, routed("trafikverket")))
        async with started(settings, bus) as runtime:
            for item in routing_log:
                await delivered(runtime, item.envelope.stream_id)
            gateway_log = await bus.readers[topics.GATEWAY](0, 100)

    assert reads_from[0] == 2  # resumed after what it had handled, not from the start
    assert [e.envelope.event_type for e in gateway_log].count("gateway.CaseForwarded") == 3
    stats = (await simulator.get("/v1/received")).json()
    assert (stats["total_requests"], stats["unique_cases"]) == (3, 3)
