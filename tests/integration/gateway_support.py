"""What the gateway's integration tests share: the real simulator served over real HTTP
in the test's event loop, and gateway settings pointing at it."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import uvicorn

from services.agency_gateway.config import GatewaySettings
from shared import topics
from shared.db import sqlite_url
from shared.events import EventEnvelope
from shared.runtime import ServiceRuntime
from shared.tracking import Checkpoint
from tests.factories import case_routed_to_agency, envelope
from tests.helpers import api_client, scaled


async def eventually(check: Callable[[], object], within: float = 10.0) -> None:
    deadline = time.monotonic() + scaled(within)
    while not (await check() if asyncio.iscoroutinefunction(check) else check()):
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


@asynccontextmanager
async def serve(app) -> AsyncIterator[str]:
    """Serve an ASGI app with uvicorn in this event loop, on a free port."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    await eventually(lambda: server.started or task.done())
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        await task
        sock.close()


def gateway_settings(tmp_path: Path, simulator: httpx.AsyncClient, **overrides) -> GatewaySettings:
    values = {
        "data_dir": tmp_path / "gateway",
        "agency_gateway_database_url": sqlite_url(tmp_path / "gateway" / "agency_gateway.db"),
        "agency_simulator_url": str(simulator.base_url),
        "agency_retry_initial_seconds": 0.01,
        "agency_retry_max_seconds": 0.05,
    }
    return GatewaySettings(**(values | overrides))


def routed(
    agency: str = "skatteverket",
    question_id: str | None = None,
    stream_version: int = 2,
    **fields: object,
) -> EventEnvelope:
    """A ``routing.CaseRoutedToAgency`` envelope as routing would publish it, with an
    identity number; ``fields`` override the case's details."""
    case = {"personal_identity_number": "198112189876"} | fields
    if question_id is not None:
        case["question_id"] = question_id
    return envelope(case_routed_to_agency(agency=agency, **case), stream_version=stream_version)


async def feed(runtime: ServiceRuntime, envelope: EventEnvelope, position: int = 1) -> None:
    await runtime.consumers[0].handle(envelope, Checkpoint(topics.ROUTING, 0, position))


async def delivery(runtime: ServiceRuntime, question_id: str) -> dict:
    async with api_client(runtime) as client:
        response = await client.get(f"/v1/deliveries/{question_id}")
    return response.json() if response.status_code == 200 else {"status": None}


async def delivered(runtime: ServiceRuntime, question_id: str, within: float = 10.0) -> dict:
    async def done() -> bool:
        return (await delivery(runtime, question_id))["status"] in ("delivered", "dead_lettered")

    await eventually(done, within)
    return await delivery(runtime, question_id)
