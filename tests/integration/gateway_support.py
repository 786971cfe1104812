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
from shared.db import sqlite_url


async def eventually(check: Callable[[], object], within: float = 10.0) -> None:
    deadline = time.monotonic() + within
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
