"""Fixtures of the integration tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from services.agency_simulator.app import build_simulator
from tests.integration.gateway_support import serve


@pytest.fixture
async def simulator(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    async with (
        serve(build_simulator(tmp_path / "simulator")) as url,
        httpx.AsyncClient(base_url=url) as client,
    ):
        yield client
