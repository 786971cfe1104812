"""Build the agency simulator's app. Logs loudly that it is a SIMULATOR."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import structlog
from fastapi import FastAPI

from services.agency_simulator.api import router
from services.agency_simulator.store import SimulatorStore
from shared.api import create_app
from shared.db import ping

log = structlog.get_logger("agency_simulator")


def build_simulator(data_dir: Path, port: int = 8009) -> FastAPI:
    store = SimulatorStore(data_dir)

    async def ready() -> dict[str, bool]:
        return {"database": await ping(store.engine)}

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        log.warning(
            "AGENCY SIMULATOR: not an agency system; cases sent here reach no agency",
            port=port,
            data_dir=str(data_dir),
        )
        await store.ensure_tables()
        yield
        await store.close()

    app = create_app("servicekontor agency simulator (NOT an agency system)", ready, lifespan)
    app.include_router(router)
    app.state.store = store
    app.state.faults = {}
    return app
