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
import os
import signal
import socket
from collections.abc import Awaitable, Callable, Iterator
from importlib import import_module
from pathlib import Path
from typing import Any

import structlog
import uvicorn

from servicekontor.instance import Instance, remove_instance, write_instance
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
    """The whole system in this process. Every port is bound first (``0``: one the kernel
    picks), so the simulator's callback URL, routing's CORS origins and the desk page's
    routing URL name the ports actually bound; ``<data_dir>/ports.json`` records them
    once every server listens."""
    host = service_settings("intake", overrides).host
    sockets: dict[str, socket.socket] = {}
    try:
        for name in SERVICES:
            sockets[name] = listen(host, service_settings(name, overrides).port, name)
            overrides[f"{name}_port"] = bound_port(sockets[name])
        gateway = service_settings("agency_gateway", overrides)
        if gateway.uses_simulator if with_simulator is None else with_simulator:
            wanted = overrides.get("agency_simulator_port", 8009)
            sockets["agency_simulator"] = listen(host, wanted, "agency_simulator")
            overrides["agency_simulator_port"] = bound_port(sockets["agency_simulator"])
            # The gateway sends its cases to this simulator, on the port it has.
            overrides.setdefault("agency_simulator_url", f"http://{reachable(host)}:{overrides['agency_simulator_port']}")
    except BaseException:
        for sock in sockets.values():
            sock.close()
        raise
    office_pages_reach_routing(overrides)
    bus = EmbeddedBus()
    runtimes = [bootstrap_service(n, service_settings(n, overrides), bus) for n in SERVICES]
    intake = runtimes[0].settings
    announce_credentials(Path(intake.data_dir), f"http://{reachable(host)}:{intake.port}")
    for runtime in runtimes:
        for consumer in runtime.consumers:
            bus.subscribe(consumer)
        await runtime.init_db()
    apps: list[tuple[Any, int | socket.socket, str]] = [(rt.app, sockets[rt.name], rt.name) for rt in runtimes]
    if "agency_simulator" in sockets:
        gateway_settings = runtimes[2].settings
        # The simulated agencies answer with status callbacks, as real ones do.
        callback_url = f"http://{reachable(host)}:{gateway_settings.port}"
        port = overrides["agency_simulator_port"]
        app = simulator_app(Path(gateway_settings.data_dir), port, callback_url)
        apps.append((app, sockets["agency_simulator"], "agency_simulator"))
    background = [bus.run] + [w for rt in runtimes for w in rt.workers]
    await run_servers(host, apps, background, runtimes, data_dir=Path(intake.data_dir))


class PortInUse(SystemExit):
    """A port that cannot be bound: one line for the user (``SystemExit`` prints it and
    exits 1), raised before anything else starts, so no traceback and no pending task."""

    def __init__(self, service: str, host: str, port: int, error: OSError) -> None:
        reason = error.strerror or str(error)
        super().__init__(f"servicekontor: {service} cannot listen on {host}:{port}: {reason}")
        self.service, self.host, self.port = service, host, port


def listen(host: str, port: int, service: str) -> socket.socket:
    """A socket bound to ``host:port`` (as uvicorn binds one) for a server to serve."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        raise PortInUse(service, host, port, error) from None
    return sock


def bound_port(sock: socket.socket) -> int:
    return sock.getsockname()[1]


def reachable(host: str) -> str:
    """The host part of a URL that reaches a server listening on ``host``."""
    if host in ("0.0.0.0", ""):
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


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
    sock = listen(settings.host, settings.port, name)
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
    apps = [(runtime.app, sock, name)]
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
    apps: list[tuple[Any, int | socket.socket, str]],
    background: list[Callable[[], Awaitable[None]]],
    runtimes: list[ServiceRuntime],
    *,
    data_dir: Path | None = None,
) -> None:
    """Serve ``apps`` (each on a port, or on a socket bound already) and run
    ``background`` until SIGINT/SIGTERM. With ``data_dir``, the ports every server listens
    on are written to ``<data_dir>/ports.json`` once all listen, and removed on a clean stop."""
    sockets = [port if isinstance(port, socket.socket) else listen(host, port, name) for _, port, name in apps]
    ports = {name: bound_port(sock) for (_, _, name), sock in zip(apps, sockets, strict=True)}
    servers = [
        QuietServer(
            uvicorn.Config(
                app, host=host, port=ports[name], log_config=None, access_log=False,
                timeout_graceful_shutdown=GRACE_SECONDS,
            )
        )
        for app, _, name in apps
    ]
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    tasks = [asyncio.create_task(job(), name=getattr(job, "__name__", "job")) for job in background]
    serving = [
        asyncio.create_task(server.serve(sockets=[sock]), name=f"server-{name}")
        for server, sock, (_, _, name) in zip(servers, sockets, apps, strict=True)
    ]
    stopper = asyncio.create_task(stop.wait())
    card = asyncio.create_task(_announce(host, servers, ports, data_dir))
    done, _ = await asyncio.wait([stopper, *tasks, *serving], return_when="FIRST_COMPLETED")
    card.cancel()
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
    if data_dir is not None:
        remove_instance(data_dir, os.getpid())
    log.info("servicekontor_stopped")


async def _announce(host: str, servers: list[uvicorn.Server], ports: dict[str, int], data_dir: Path | None) -> None:
    """Once every server listens: log ``servicekontor_up`` and write the address card."""
    while not all(server.started for server in servers):
        await asyncio.sleep(0.02)
    if data_dir is not None:
        write_instance(
            data_dir,
            Instance(
                host=host,
                intake=ports.get("intake"),
                routing=ports.get("routing"),
                agency_gateway=ports.get("agency_gateway"),
                reporting=ports.get("reporting"),
                agency_simulator=ports.get("agency_simulator"),
                pid=os.getpid(),
            ),
        )
    log.info("servicekontor_up", host=host, ports=ports)
