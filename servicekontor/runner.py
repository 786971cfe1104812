"""Run the system.

- Embedded (default): the four services and, unless real agency endpoints are
  configured, the agency simulator, in one process on one embedded bus.
- One service (``serve``): a single service on Kafka + PostgreSQL, as one replica of a
  distributed deployment.

Both stop cleanly on SIGINT/SIGTERM: servers finish their requests, consumers and workers
are cancelled between transactions (a cancelled transaction rolls back), databases close.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Awaitable, Callable, Iterator
from importlib import import_module
from pathlib import Path
from typing import Any

import structlog
import uvicorn

from shared.auth import auth_dir
from shared.bus import EmbeddedBus
from shared.runtime import ServiceRuntime

log = structlog.get_logger("servicekontor")

SERVICES = ("intake", "routing", "agency_gateway", "reporting")
GRACE_SECONDS = 10  # how long a stopping server lets requests in flight finish
_SETTINGS = {
    "intake": "IntakeSettings",
    "routing": "RoutingSettings",
    "agency_gateway": "GatewaySettings",
    "reporting": "ReportingSettings",
}


class QuietServer(uvicorn.Server):
    """A uvicorn server that leaves signal handling to the runner (several servers share
    one process and must stop together)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def service_settings(name: str, overrides: dict[str, Any]) -> Any:
    module = import_module(f"services.{name}.config")
    return getattr(module, _SETTINGS[name])(**overrides)


def bootstrap_service(name: str, settings: Any, bus: Any) -> ServiceRuntime:
    return import_module(f"services.{name}.bootstrap").bootstrap(settings, bus)


def simulator_app(data_dir: Path, port: int, callback_url: str | None = None):
    from services.agency_simulator.app import build_simulator

    log.warning(
        "AGENCY SIMULATOR IN USE: complex cases go to a stand-in on this machine, "
        "not to any agency. Set SK_AGENCY_ENDPOINTS for real endpoints.",
        port=port,
    )
    return build_simulator(data_dir, port, callback_url=callback_url, keys_dir=auth_dir(data_dir))


async def serve_embedded(overrides: dict[str, Any], with_simulator: bool | None = None) -> None:
    if "agency_simulator_port" in overrides:
        host = overrides.get("host", "127.0.0.1")
        overrides.setdefault("agency_simulator_url", f"http://{host}:{overrides['agency_simulator_port']}")
    office_pages_reach_routing(overrides)
    bus = EmbeddedBus()
    runtimes = [bootstrap_service(n, service_settings(n, overrides), bus) for n in SERVICES]
    intake = runtimes[0].settings
    announce_credentials(Path(intake.data_dir), f"http://{intake.host}:{intake.port}")
    for runtime in runtimes:
        for consumer in runtime.consumers:
            bus.subscribe(consumer)
        await runtime.init_db()
    apps = [(rt.app, rt.settings.port, rt.name) for rt in runtimes]
    gateway_settings = runtimes[2].settings
    if gateway_settings.uses_simulator if with_simulator is None else with_simulator:
        port = overrides.get("agency_simulator_port", 8009)
        # The simulated agencies answer with status callbacks, as real ones do.
        callback_url = f"http://{gateway_settings.host}:{gateway_settings.port}"
        app = simulator_app(Path(gateway_settings.data_dir), port, callback_url)
        apps.append((app, port, "agency_simulator"))
    background = [bus.run] + [w for rt in runtimes for w in rt.workers]
    await run_servers(runtimes[0].settings.host, apps, background, runtimes)


def office_pages_reach_routing(overrides: dict[str, Any]) -> None:
    """The desk page, served by intake, asks routing for decisions and overrides from the
    browser: on the embedded system routing lets intake's origin in and the page is told
    where routing is (unless SK_CORS_ORIGINS / SK_ROUTING_PUBLIC_URL say otherwise)."""
    intake, routing = (service_settings(n, overrides) for n in ("intake", "routing"))
    loopback = intake.host in ("127.0.0.1", "localhost", "0.0.0.0", "::")
    hosts = ["127.0.0.1", "localhost"] if loopback else [intake.host]
    if not routing.cors_origins:
        overrides["cors_origins"] = [f"http://{h}:{intake.port}" for h in hosts]
    if not intake.routing_public_url:
        overrides["routing_public_url"] = f"http://{hosts[0]}:{routing.port}"


def announce_credentials(data_dir: Path, intake_url: str = "http://127.0.0.1:8001") -> None:
    """First start: one token per role (and per agency) in ``credentials.json`` (0600)."""
    from shared.auth import ensure_credentials

    path = ensure_credentials(data_dir.resolve())
    print(
        f"Credentials: {path} (mode 0600) holds a bearer token per role and per agency.\n"
        f"  Use one:   TOKEN=$(servicekontor token desk --data-dir {data_dir})\n"
        f'             curl -H "Authorization: Bearer $TOKEN" {intake_url}/v1/visits/<visit_id>',
        flush=True,
    )


async def serve_one(name: str, overrides: dict[str, Any]) -> None:
    from shared.kafka_bus import KafkaBus

    settings = service_settings(name, overrides)
    if not settings.kafka_bootstrap_servers:
        raise SystemExit("serve runs one service of a distributed system: set SK_KAFKA_BOOTSTRAP_SERVERS")
    bus = KafkaBus(
                settings.kafka_bootstrap_servers,
        settings.kafka_partitions,
        prefix=settings.kafka_topic_prefix,
        replication_factor=settings.kafka_replication_factor,
    )
    runtime = bootstrap_service(name, settings, bus)
    for consumer in runtime.consumers:
        bus.subscribe(consumer)
    await runtime.init_db()
    apps = [(runtime.app, settings.port, name)]
    await run_servers(settings.host, apps, [bus.run, *runtime.workers], [runtime])


async def migrate_services(names: list[str]) -> list[tuple[str, str]]:
    """Run each service's migrations; answer (service, revision or 'sqlite: tables created')."""
    from shared.migrations import current

    done = []
    for name in names:
        # Migrations touch only the database: the gateway's production check on agency
        # endpoints must not stop a migration Job that runs before they are configured.
        runtime = bootstrap_service(name, service_settings(name, {"environment": "development"}), None)
        try:
            await runtime.init_db()
            if runtime.engine.dialect.name == "sqlite":
                done.append((name, "sqlite: tables created"))
            else:
                done.append((name, await current(runtime.engine, runtime.schema or name) or "none"))
        finally:
            await runtime.close()
    return done


async def run_servers(
    host: str,
    apps: list[tuple[Any, int, str]],
    background: list[Callable[[], Awaitable[None]]],
    runtimes: list[ServiceRuntime],
) -> None:
    servers = [
        QuietServer(
            uvicorn.Config(
                app, host=host, port=port, log_config=None, access_log=False,
                timeout_graceful_shutdown=GRACE_SECONDS,
            )
        )
        for app, port, _ in apps
    ]
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    tasks = [asyncio.create_task(job(), name=getattr(job, "__name__", "job")) for job in background]
    serving = [asyncio.create_task(s.serve(), name=f"server-{a[2]}") for s, a in zip(servers, apps, strict=True)]
    log.info("servicekontor_up", host=host, ports={name: port for _, port, name in apps})
    stopper = asyncio.create_task(stop.wait())
    done, _ = await asyncio.wait([stopper, *tasks, *serving], return_when="FIRST_COMPLETED")
    for task in done:
        if task is not stopper and not task.cancelled() and task.exception():
            log.error("component_failed", task=task.get_name(), error=repr(task.exception()))
    log.info("servicekontor_stopping")
    # Consumers and workers first (cancelled between transactions, so nothing is half
    # done), then the servers, which finish their requests within the grace period.
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for server in servers:
        server.should_exit = True
    await asyncio.gather(*serving, return_exceptions=True)
    for runtime in runtimes:
        await runtime.close()
    log.info("servicekontor_stopped")
