"""Run the system.

- Embedded (default): the four services and, unless real agency endpoints are
  configured, the agency simulator, in one process on one embedded bus.
- One service (``serve``): a single service on Kafka + PostgreSQL, as one replica of a
  distributed deployment.

Both stop on SIGINT/SIGTERM within ``STOP_SECONDS``, in three bounded steps (``stop``):

1. Background work stops starting anything new and finishes or hands back what it has:
   consumers and relays finish the batch in hand and commit (the bus's ``stop_soon``;
   one still running at the bound is cancelled: its transaction rolls back, the position
   stays where the last commit left it), the other workers are cancelled between
   transactions, the delivery worker gives calls in flight ``DRAIN_SECONDS`` to finish
   and hands the rest back (due again at once, same Idempotency-Key), the simulated
   agencies send the status callbacks they still owe at once. The servers still answer
   meanwhile (the callbacks go to the gateway).
2. The servers stop taking connections; requests in flight get ``REQUEST_GRACE_SECONDS``
   (a request whose client has gone, and a display's event stream, end at once); what
   is left is cancelled and awaited, so its database session is returned first.
3. Lifespans end, HTTP clients and databases close; ``servicekontor_stopped``.

A watchdog thread ends the process ``STOP_SECONDS`` after the signal whatever hangs (exit
code 1, ``servicekontor_stop_forced``); a second signal ends it at once. Nothing is lost
either way: every step commits or rolls back, and a restart resumes from the stores.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from datetime import UTC, datetime
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
STOP_SECONDS = 10.0  # the promise: from the signal to the process's exit
DRAIN_SECONDS = 2.0  # background work in flight (agency calls, callbacks) may finish
REQUEST_GRACE_SECONDS = 3.0  # requests in flight may finish
CLOSE_SECONDS = 1.0  # what was cut off, each lifespan, and the clients and databases
WATCHDOG_SECONDS = STOP_SECONDS - 0.5
GRACE_SECONDS = REQUEST_GRACE_SECONDS  # the former name
_SETTINGS = {
    "intake": "IntakeSettings",
    "routing": "RoutingSettings",
    "agency_gateway": "GatewaySettings",
    "reporting": "ReportingSettings",
}


def run_loop(main: Coroutine[Any, Any, Any]) -> Any:
    """Run the servers' event loop: uvloop where it is installed, else asyncio's. With
    httptools (which uvicorn's ``http="auto"`` picks when installed) it cuts the CPU of a
    request by a third to a half (bench/hot_path.py, issue #13)."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - a dependency; asyncio still works
        return asyncio.run(main)
    return uvloop.run(main)


class QuietServer(uvicorn.Server):
    """A uvicorn server that leaves signal handling to the runner (several servers share
    one process and must stop together) and stops within a bound: requests in flight get
    ``timeout_graceful_shutdown`` seconds, a request whose client has gone is cut at once
    (nobody waits for its answer: a simulated agency holding a call the gateway gave up),
    and cut requests are awaited (briefly), so none still holds a database session when
    the runner closes the databases."""

    name = ""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for server in self.servers:
            server.close()
        for sock in sockets or []:
            sock.close()
        state = self.server_state
        for connection in list(state.connections):
            connection.shutdown()  # idle: closed now; busy: closed after its response
        grace = self.config.timeout_graceful_shutdown
        deadline = time.monotonic() + (REQUEST_GRACE_SECONDS if grace is None else grace)
        while (state.connections or state.tasks) and time.monotonic() < deadline:
            if state.tasks and not state.connections:
                break  # only requests whose clients have gone: no one waits for them
            await asyncio.sleep(0.05)
        if cut := [task for task in state.tasks if not task.done()]:
            log.warning("requests_cut_off", server=self.name, requests=len(cut),
                        clients_gone=not state.connections)
            for task in cut:
                task.cancel()
            await asyncio.wait(cut, timeout=CLOSE_SECONDS)
        for connection in list(state.connections):
            connection.shutdown()
        if not self.force_exit:
            try:
                async with asyncio.timeout(CLOSE_SECONDS):
                    await self.lifespan.shutdown()
            except TimeoutError:
                log.warning("lifespan_shutdown_cut_off", server=self.name)


class _CancelledQuiet(logging.Filter):
    """What the stop's cancellations make others log as errors: uvicorn a request cut off
    ("Exception in ASGI application", reported as ``requests_cut_off`` instead), SQLAlchemy
    a connection whose reset (the rollback as it goes back to the pool) was cancelled
    ("Exception during reset or similar": the connection is closed; the transaction had
    ended or is rolled back by the database)."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        return not isinstance(error, asyncio.CancelledError)


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
    app = build_simulator(data_dir, port, callback_url=callback_url, keys_dir=auth_dir(data_dir))
    if (sender := app.state.sim.callbacks) is not None:
        app.state.drain = sender.drain  # the runner's first stop step: callbacks owed, now
    return app


async def serve_embedded(overrides: dict[str, Any], with_simulator: bool | None = None) -> None:
    """The whole system in this process (``servicekontor.supervisor``: one process each).
    ``<data_dir>/ports.json`` records the ports once every server listens."""
    host, sockets = bind_embedded(overrides, with_simulator)
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


def bind_embedded(overrides: dict[str, Any], with_simulator: bool | None) -> tuple[str, dict[str, socket.socket]]:
    """Bind every server's socket first (``0``: a port the kernel picks), so the simulator's
    callback URL, routing's CORS origins and the desk page's routing URL (all set in
    ``overrides`` here) name the ports actually bound. Answer the host and the sockets."""
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
    return host, sockets


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


async def serve_simulator(
    port: int, data_dir: Path, callback_url: str | None = None, host: str = "127.0.0.1"
) -> None:
    """The agency simulator alone (``up --distributed`` runs it beside the services), with
    the same bounded stop: the status callbacks it still owes are sent first."""
    sock = listen(host, port, "agency_simulator")
    app = simulator_app(data_dir, bound_port(sock), callback_url)
    await run_servers(host, [(app, sock, "agency_simulator")], [], [])


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
    on_up: Callable[[dict[str, int]], None] | None = None,
) -> None:
    """Serve ``apps`` (each on a port, or on a socket bound already) and run
    ``background`` until SIGINT/SIGTERM, then stop as the module says. With ``data_dir``,
    the ports every server listens on are written to ``<data_dir>/ports.json`` once all
    listen, and removed on a clean stop. With ``on_up`` (a process of ``up --processes``),
    that is called with the ports instead of announcing the system."""
    sockets = [port if isinstance(port, socket.socket) else listen(host, port, name) for _, port, name in apps]
    ports = {name: bound_port(sock) for (_, _, name), sock in zip(apps, sockets, strict=True)}
    servers = []
    for app, _, name in apps:
        server = QuietServer(
            uvicorn.Config(
                app, host=host, port=ports[name], log_config=None, access_log=False,
                timeout_graceful_shutdown=REQUEST_GRACE_SECONDS,
            )
        )
        server.name = name
        servers.append(server)
    signals = Signals()
    signals.install(asyncio.get_running_loop())
    tasks = [asyncio.create_task(job(), name=getattr(job, "__name__", "job")) for job in background]
    serving = [
        asyncio.create_task(server.serve(sockets=[sock]), name=f"server-{name}")
        for server, sock, (_, _, name) in zip(servers, sockets, apps, strict=True)
    ]
    stopper = asyncio.create_task(signals.received.wait())
    card = asyncio.create_task(_announce(host, servers, ports, data_dir, on_up))
    done, _ = await asyncio.wait([stopper, *tasks, *serving], return_when="FIRST_COMPLETED")
    card.cancel()
    # Background work and servers run until the stop: one that ends first has failed.
    failed = [t for t in done if t is not stopper]
    for task in failed:
        error = None if task.cancelled() else task.exception()
        log.error("component_failed", task=task.get_name(), error=repr(error))
    signals.stopping(WATCHDOG_SECONDS)
    log.info("servicekontor_stopping", signal=signals.name)
    drains = [drain for app, _, _ in apps if (drain := getattr(app.state, "drain", None)) is not None]
    await stop(tasks, background, drains, servers, serving, runtimes)
    if data_dir is not None:
        remove_instance(data_dir, os.getpid())
    log.info("servicekontor_stopped", seconds=round(signals.elapsed(), 2))
    for handler in logging.getLogger().handlers:
        handler.flush()
    # What is left is the interpreter's own teardown: a final garbage collection of every
    # object the services made, seconds on a busy machine. Nothing left needs it.
    gc.freeze()
    if failed:
        raise SystemExit(1)


async def stop(
    tasks: list[asyncio.Task],
    jobs: list[Callable[[], Awaitable[None]]],
    drains: list[Callable[[float], Awaitable[Any]]],
    servers: list[QuietServer],
    serving: list[asyncio.Task],
    runtimes: list[ServiceRuntime],
) -> None:
    """The three steps of the module's docstring, each bounded."""
    quiet = _CancelledQuiet()
    for name in ("uvicorn.error", "sqlalchemy.pool"):
        logging.getLogger(name).addFilter(quiet)
    # 1. Background work: the buses finish the batches in hand (``stop_soon``), the rest is
    # cancelled (the delivery worker then finishes or hands back its calls in flight).
    for task, job in zip(tasks, jobs, strict=True):
        owner = getattr(job, "__self__", None)
        if callable(getattr(owner, "stop_soon", None)):
            owner.stop_soon()
        else:
            task.cancel()
    flushing = [asyncio.create_task(drain(DRAIN_SECONDS), name="drain") for drain in drains]
    await _bounded(tasks + flushing, DRAIN_SECONDS + CLOSE_SECONDS, "background_work_cut_off")
    # 2. Servers: no new connections; requests finish, event streams end at once.
    _end_event_streams()
    for server in servers:
        server.should_exit = True
    await _bounded(serving, REQUEST_GRACE_SECONDS + 2 * CLOSE_SECONDS + 0.5, "servers_cut_off")
    # 3. Clients and databases, together.
    closing = [asyncio.create_task(runtime.close(), name=f"close-{runtime.name}") for runtime in runtimes]
    await _bounded(closing, CLOSE_SECONDS, "close_cut_off")


async def _bounded(tasks: list[asyncio.Task], seconds: float, event: str) -> None:
    """Wait for ``tasks`` at most ``seconds``; cancel what is left and give it a moment."""
    if not tasks:
        return
    _, pending = await asyncio.wait(tasks, timeout=seconds)
    if pending:
        log.warning(event, tasks=sorted(t.get_name() for t in pending))
        for task in pending:
            task.cancel()
        await asyncio.wait(pending, timeout=CLOSE_SECONDS)
    for task in tasks:
        if task.done() and not task.cancelled() and (error := task.exception()) is not None:
            log.warning("stopped_with_error", task=task.get_name(), error=repr(error))


def _end_event_streams() -> None:
    """sse-starlette ends its streams when uvicorn's own signal handler runs; this runner
    handles the signals itself, so it says so directly (else each open stream, e.g. an
    office's display, would hold its server for the whole grace period)."""
    try:
        from sse_starlette.sse import AppStatus
    except ImportError:  # pragma: no cover - a dependency of intake
        return
    AppStatus.should_exit = True


class Signals:
    """SIGINT/SIGTERM: the first starts the stop (and a watchdog that ends the process if
    the stop has not ended it in time); a second ends the process at once."""

    def __init__(self) -> None:
        self.received = asyncio.Event()
        self.name: str | None = None
        self.at: float | None = None

    def install(self, loop: asyncio.AbstractEventLoop) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self._on_signal, sig)

    def _on_signal(self, sig: int) -> None:
        name = signal.Signals(sig).name
        if self.received.is_set():
            # Ctrl-C twice. Not SIGINT then SIGTERM: ``up --distributed`` terminates its
            # children after the terminal's SIGINT reached them too.
            if name == self.name == "SIGINT":
                _force_exit("second SIGINT")
            return
        self.name = name
        self.at = time.monotonic()
        self.received.set()

    def stopping(self, within: float) -> None:
        if self.at is None:  # a component failed: the stop starts now
            self.at = time.monotonic()
        left = max(0.0, within - (time.monotonic() - self.at))
        timer = threading.Timer(left, _force_exit, args=(f"still stopping after {within:g} s",))
        timer.daemon = True
        timer.start()

    def elapsed(self) -> float:
        return time.monotonic() - self.at if self.at is not None else 0.0


def _force_exit(reason: str) -> None:
    """End the process now. A thread may call this while the event loop is stuck, maybe
    inside a log call: so one JSON line straight to stderr, no logging lock."""
    threads = sorted(t.name for t in threading.enumerate() if t is not threading.current_thread())
    line = {"event": "servicekontor_stop_forced", "reason": reason, "threads": threads, "level": "error",
            "logger": "servicekontor", "timestamp": datetime.now(UTC).isoformat().replace("+00:00", "Z")}
    with contextlib.suppress(OSError):
        os.write(2, (json.dumps(line) + "\n").encode())
    os._exit(1)


async def _announce(
    host: str, servers: list[uvicorn.Server], ports: dict[str, int], data_dir: Path | None,
    on_up: Callable[[dict[str, int]], None] | None = None,
) -> None:
    """Once every server listens: log ``servicekontor_up`` and write the address card
    (or, in a process of ``up --processes``, tell the supervisor)."""
    while not all(server.started for server in servers):
        await asyncio.sleep(0.02)
    if on_up is not None:
        on_up(ports)
        return
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
