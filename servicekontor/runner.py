"""Run the system on the embedded default: the four services (and, unless real agency
endpoints are configured, the agency simulator) in one process, on one embedded bus.

Stops cleanly on SIGINT/SIGTERM: servers finish their requests, consumers and workers are
cancelled between transactions (a cancelled transaction rolls back), databases close.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog
import uvicorn

from shared.bus import EmbeddedBus
from shared.runtime import ServiceRuntime

log = structlog.get_logger("servicekontor")


class QuietServer(uvicorn.Server):
    """A uvicorn server that leaves signal handling to the runner (several servers share
    one process and must stop together)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@dataclass
class EmbeddedSystem:
    runtimes: list[ServiceRuntime]
    bus: EmbeddedBus
    simulator: Any | None  # (FastAPI app, port) when the simulator runs


def build_embedded(overrides: dict[str, Any], with_simulator: bool | None = None) -> EmbeddedSystem:
    from services.agency_gateway.bootstrap import bootstrap as gateway
    from services.agency_gateway.config import GatewaySettings
    from services.intake.bootstrap import bootstrap as intake
    from services.intake.config import IntakeSettings
    from services.reporting.bootstrap import bootstrap as reporting
    from services.reporting.config import ReportingSettings
    from services.routing.bootstrap import bootstrap as routing
    from services.routing.config import RoutingSettings

    bus = EmbeddedBus()
    gateway_settings = GatewaySettings(**overrides)
    runtimes = [
        intake(IntakeSettings(**overrides), bus),
        routing(RoutingSettings(**overrides), bus),
        gateway(gateway_settings, bus),
        reporting(ReportingSettings(**overrides), bus),
    ]
    for runtime in runtimes:
        for consumer in runtime.consumers:
            bus.subscribe(consumer)
    if with_simulator is None:
        with_simulator = gateway_settings.uses_simulator
    simulator = None
    if with_simulator:
        from services.agency_simulator.app import build_simulator

        port = overrides.get("agency_simulator_port", 8009)
        simulator = (build_simulator(Path(gateway_settings.data_dir), port), port)
    return EmbeddedSystem(runtimes, bus, simulator)


async def serve_embedded(overrides: dict[str, Any], with_simulator: bool | None = None) -> None:
    system = build_embedded(overrides, with_simulator)
    host = system.runtimes[0].settings.host
    for runtime in system.runtimes:
        await runtime.init_db()
    apps = [(rt.app, rt.settings.port, rt.name) for rt in system.runtimes]
    if system.simulator:
        app, port = system.simulator
        apps.append((app, port, "agency_simulator"))
        log.warning(
            "AGENCY SIMULATOR IN USE: complex cases go to a stand-in on this machine, "
            "not to any agency. Set SK_AGENCY_ENDPOINTS for real endpoints.",
            port=port,
        )
    servers = [
        QuietServer(
            uvicorn.Config(app, host=host, port=port, log_config=None, access_log=False, lifespan="on")
        )
        for app, port, _ in apps
    ]
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    background = [asyncio.create_task(system.bus.run(), name="bus")] + [
        asyncio.create_task(worker(), name=f"{rt.name}-worker")
        for rt in system.runtimes
        for worker in rt.workers
    ]
    serving = [asyncio.create_task(s.serve(), name=f"server-{a[2]}") for s, a in zip(servers, apps)]
    log.info("servicekontor_up", ports={name: port for _, port, name in apps}, host=host)
    stopper = asyncio.create_task(stop.wait())
    done, _ = await asyncio.wait([stopper, *background, *serving], return_when="FIRST_COMPLETED")
    for task in done:
        if task is not stopper and task.exception():
            log.error("component_failed", task=task.get_name(), error=repr(task.exception()))
    await shutdown(servers, serving, background, system)


async def shutdown(servers, serving, background, system: EmbeddedSystem) -> None:
    log.info("servicekontor_stopping")
    for server in servers:
        server.should_exit = True
    await asyncio.gather(*serving, return_exceptions=True)
    for task in background:
        task.cancel()
    await asyncio.gather(*background, return_exceptions=True)
    for runtime in system.runtimes:
        await runtime.close()
    log.info("servicekontor_stopped")
