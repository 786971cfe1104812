"""``servicekontor up --processes``: the embedded system with one process per service.

The same stores as the one-process system (the SQLite files under the data dir, one per
service), the same bus semantics (``shared.file_bus``: a consumer reads the producer's
store, read only, and keeps its position in its own store), so the same crash guarantees:
a process killed at any moment loses and doubles nothing, its restart resumes from its
store. What it buys is the second core: each service's Python runs in its own process.

The supervisor binds every server's socket (ports 0 resolved, a port in use refused in one
line, as ``up`` does), writes ``credentials.json``, then starts intake (it makes the
vault's tables, which the gateway shares), then the others and the agency simulator, each
``python -m servicekontor.supervisor <service> <spec>`` in a process group of its own
(a terminal's Ctrl-C reaches the supervisor only), given its listening socket and one end
of a socket pair. A child says ``up`` on the pair once it listens; the supervisor writes
``<data_dir>/ports.json`` when all have. A child dies with the supervisor (Linux: the
kernel kills it; elsewhere it stops itself as on SIGTERM when its pair ends).

- A child that ends before the system is up: the others are stopped, exit 1.
- A child that ends later (crashed, killed) is restarted on the same socket (connections
  wait in its backlog meanwhile), at most ``RESTARTS`` times in ``RESTART_WINDOW_SECONDS``;
  one more, and the system stops, exit 1.
- SIGINT/SIGTERM: the simulator is stopped first (its status callbacks owed reach the
  gateway, which still listens), then, once it has ended or ``SIMULATOR_FIRST_SECONDS``
  have passed, the services, each with its own bounded stop (``runner``); whatever still
  runs ``STOP_SECONDS`` after the signal is killed. Exit 0 when every child stopped cleanly. A second SIGINT kills them all at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections import deque
from pathlib import Path
from typing import Any

import structlog

from servicekontor.distributed import _terminate_and_wait
from servicekontor.instance import Instance, remove_instance, write_instance
from servicekontor.runner import (
    DRAIN_SECONDS,
    SERVICES,
    STOP_SECONDS,
    Signals,
    _force_exit,
    announce_credentials,
    bind_embedded,
    bootstrap_service,
    bound_port,
    reachable,
    run_loop,
    run_servers,
    service_settings,
    simulator_app,
)
from shared import topics
from shared.file_bus import FileBus, Wakeups, channel_address

log = structlog.get_logger("servicekontor")

PRODUCERS = {topics.INTAKE: "intake", topics.ROUTING: "routing", topics.GATEWAY: "agency_gateway"}
START_SECONDS = 120.0  # from a child's start to its "up" (a busy machine, first start)
RESTARTS = 3
RESTART_WINDOW_SECONDS = 60.0
ENV = "SK_EMBEDDED_PROCESSES"
# The simulator stops alone this long at most: it sends the callbacks it owes within
# DRAIN_SECONDS; a call it still holds (a slow agency) ends when the gateway, stopping
# next, hands its calls in flight back.
SIMULATOR_FIRST_SECONDS = DRAIN_SECONDS + 0.5


def processes_wanted(flag: bool | None) -> bool:
    """``--processes`` / ``--one-process``, else ``SK_EMBEDDED_PROCESSES`` (1/0)."""
    if flag is not None:
        return flag
    return os.environ.get(ENV, "0").strip().lower() in ("1", "true", "yes", "on")


class Child:
    """One service's process, started again on the same listening socket when it dies."""

    def __init__(self, name: str, sock: socket.socket, spec: dict[str, Any]) -> None:
        self.name, self.sock, self.spec = name, sock, spec
        self.process: subprocess.Popen | None = None
        self.control: socket.socket | None = None
        self.up = asyncio.Event()
        self.exited = asyncio.Event()
        self.restarts: deque[float] = deque()

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        self.up, self.exited = asyncio.Event(), asyncio.Event()
        ours, theirs = socket.socketpair()
        spec = {**self.spec, "listen_fd": self.sock.fileno(), "control_fd": theirs.fileno(), "supervisor": os.getpid()}
        command = [sys.executable, "-m", "servicekontor.supervisor", self.name, json.dumps(spec, default=str)]
        self.process = subprocess.Popen(command, pass_fds=(self.sock.fileno(), theirs.fileno()), process_group=0)
        theirs.close()
        ours.setblocking(False)
        self.control = ours
        loop.add_reader(ours.fileno(), self._read, loop)

    def _read(self, loop: asyncio.AbstractEventLoop) -> None:
        assert self.control is not None
        try:
            data = self.control.recv(64)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if data:
            if b"up" in data:
                self.up.set()
            return
        loop.remove_reader(self.control.fileno())
        self.control.close()
        self.control = None
        loop.create_task(self._reap())

    async def _reap(self) -> None:
        assert self.process is not None
        await asyncio.to_thread(self.process.wait)
        self.exited.set()

    def may_restart(self) -> bool:
        now = time.monotonic()
        while self.restarts and now - self.restarts[0] > RESTART_WINDOW_SECONDS:
            self.restarts.popleft()
        if len(self.restarts) >= RESTARTS:
            return False
        self.restarts.append(now)
        return True

    def end_control(self) -> None:
        if self.control is not None:
            with contextlib.suppress(OSError, ValueError):
                asyncio.get_running_loop().remove_reader(self.control.fileno())
            self.control.close()
            self.control = None


def run_supervised(overrides: dict[str, Any], with_simulator: bool | None = None) -> int:
    """Bind, start the children, supervise until a signal; the exit code."""
    host, sockets = bind_embedded(overrides, with_simulator)
    try:
        return asyncio.run(_supervise(host, sockets, overrides))
    finally:
        for sock in sockets.values():
            sock.close()


def _specs(host: str, sockets: dict[str, socket.socket], overrides: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """What each child needs: the overrides ``bind_embedded`` completed, and where each
    topic's log is (the producing service's store)."""
    logs = {}
    for topic, producer in PRODUCERS.items():
        logs[topic] = [service_settings(producer, overrides).resolved_database_url(), producer]
    data_dir = str(Path(service_settings("intake", overrides).data_dir).resolve())
    common = {"host": host, "overrides": overrides, "logs": logs, "data_dir": data_dir}
    specs = {name: dict(common) for name in sockets}
    if "agency_simulator" in sockets:
        gateway_port = bound_port(sockets["agency_gateway"])
        specs["agency_simulator"]["callback_url"] = f"http://{reachable(host)}:{gateway_port}"
    return specs


async def _supervise(host: str, sockets: dict[str, socket.socket], overrides: dict[str, Any]) -> int:
    data_dir = Path(service_settings("intake", overrides).data_dir)
    announce_credentials(data_dir, f"http://{reachable(host)}:{bound_port(sockets['intake'])}")
    specs = _specs(host, sockets, overrides)
    children = {name: Child(name, sockets[name], specs[name]) for name in sockets}
    ports = {name: bound_port(sock) for name, sock in sockets.items()}
    stop = _StopSignal(children)
    stop.install(asyncio.get_running_loop())
    waves = [["intake"], [name for name in children if name != "intake"]]
    started = True
    for wave in waves:
        if not await _start(wave, children, stop):
            started = False
            break
    if started and not stop.requested.is_set():
        write_instance(data_dir, Instance(host=host, **{"agency_simulator": None, **ports}, pid=os.getpid()))
        log.info("servicekontor_up", host=host, ports=ports, processes=True)
        started = await _watch(children, stop)
    return await _stop(children, stop, data_dir, clean=started)


async def _start(names: list[str], children: dict[str, Child], stop: _StopSignal) -> bool:
    """Start ``names``; True once each says it is up, False if one ends first."""
    for name in names:
        children[name].start()
    for name in names:
        child = children[name]
        waiting = [asyncio.create_task(e.wait()) for e in (child.up, child.exited, stop.requested)]
        await asyncio.wait(waiting, timeout=START_SECONDS, return_when="FIRST_COMPLETED")
        for task in waiting:
            task.cancel()
        if stop.requested.is_set():
            return True
        if not child.up.is_set():
            code = child.process.poll() if child.process else None
            log.error("service_process_failed_to_start", service=name, exit_code=code)
            return False
    return True


async def _watch(children: dict[str, Child], stop: _StopSignal) -> bool:
    """Until the stop signal: restart a child that ends (bounded). False if one could not be."""
    while not stop.requested.is_set():
        waits = {asyncio.create_task(c.exited.wait()): c for c in children.values()}
        stopper = asyncio.create_task(stop.requested.wait())
        done, _ = await asyncio.wait([stopper, *waits], return_when="FIRST_COMPLETED")
        for task in [stopper, *waits]:
            task.cancel()
        for task in done:
            child = waits.get(task)
            if child is None or stop.requested.is_set():
                continue
            code = child.process.returncode if child.process else None
            if not child.may_restart():
                log.error("service_process_gave_up", service=child.name, exit_code=code, restarts=RESTARTS,
                          window_seconds=RESTART_WINDOW_SECONDS)
                return False
            log.error("service_process_restarted", service=child.name, exit_code=code)
            if not await _start([child.name], children, stop):
                return False
    return True


async def _stop(children: dict[str, Child], stop: _StopSignal, data_dir: Path, *, clean: bool) -> int:
    started = stop.at or time.monotonic()
    stop.watchdog(started)
    log.info("servicekontor_stopping", signal=stop.name)
    deadline = started + STOP_SECONDS - 0.5
    running = [c for c in children.values() if c.process is not None]
    simulator = [c.process for c in running if c.name == "agency_simulator"]
    services = [c.process for c in running if c.name != "agency_simulator"]
    if simulator:  # its callbacks owed first, while the gateway listens; then the rest together
        simulator[0].terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            await asyncio.to_thread(simulator[0].wait, SIMULATOR_FIRST_SECONDS)
    await asyncio.to_thread(_terminate_and_wait, services + simulator, deadline)
    for child in children.values():
        child.end_control()
    codes = {c.name: c.process.returncode for c in running}
    ok = clean and stop.name is not None and all(code == 0 for code in codes.values())
    if stop.name is not None:
        remove_instance(data_dir, os.getpid())
    log.info("servicekontor_stopped", exit_codes=codes, seconds=round(time.monotonic() - started, 2))
    return 0 if ok else 1


class _StopSignal(Signals):
    """The runner's signals; a second SIGINT kills every child before ending the supervisor."""

    def __init__(self, children: dict[str, Child]) -> None:
        super().__init__()
        self.children = children
        self.requested = self.received

    def _on_signal(self, sig: int) -> None:
        if self.received.is_set() and signal.Signals(sig).name == self.name == "SIGINT":
            self._kill_all()
        super()._on_signal(sig)

    def _kill_all(self) -> None:
        for child in self.children.values():
            if child.process is not None and child.process.poll() is None:
                child.process.kill()

    def watchdog(self, started: float) -> None:
        """The supervisor's own bound, should its stop hang: kill, and exit 1."""
        import threading

        def fire() -> None:
            self._kill_all()
            _force_exit(f"still stopping after {STOP_SECONDS:g} s")

        timer = threading.Timer(max(0.0, started + STOP_SECONDS - 0.2 - time.monotonic()), fire)
        timer.daemon = True
        timer.start()


# -- a child ------------------------------------------------------------------------------


async def serve_child(name: str, spec: dict[str, Any]) -> None:
    """One service (or the simulator) on the socket the supervisor bound."""
    sock = socket.socket(fileno=spec["listen_fd"])
    control = socket.socket(fileno=spec["control_fd"])
    data_dir = Path(spec["data_dir"])
    if name == "agency_simulator":
        apps = [(simulator_app(data_dir, bound_port(sock), spec["callback_url"]), sock, name)]
        background, runtimes = [], []
    else:
        peers = [channel_address(data_dir, service) for service in SERVICES]
        bus = FileBus(Wakeups(channel_address(data_dir, name), peers))
        runtime = bootstrap_service(name, service_settings(name, spec["overrides"]), bus)
        for topic, (url, producer) in spec["logs"].items():
            bus.register_file(topic, url, producer)
        for consumer in runtime.consumers:
            bus.subscribe(consumer)
        await runtime.init_db()
        apps = [(runtime.app, sock, name)]
        background, runtimes = [bus.run, *runtime.workers], [runtime]
    loop = asyncio.get_running_loop()
    loop.add_reader(control.fileno(), _supervisor_gone, control, loop)

    def up(ports: dict[str, int]) -> None:
        log.info("service_process_up", service=name, port=ports.get(name), pid=os.getpid())
        with contextlib.suppress(OSError):
            control.send(b"up\n")

    await run_servers(spec["host"], apps, background, runtimes, on_up=up)


def _supervisor_gone(control: socket.socket, loop: asyncio.AbstractEventLoop) -> None:
    """The pair ended: the supervisor has gone (even killed). Stop as on SIGTERM."""
    try:
        if control.recv(16):
            return
    except (BlockingIOError, InterruptedError):
        return
    except OSError:
        pass
    loop.remove_reader(control.fileno())
    os.kill(os.getpid(), signal.SIGTERM)


def main(args: list[str]) -> None:
    """``python -m servicekontor.supervisor SERVICE SPEC_JSON`` (started by the supervisor)."""
    from shared.logging import configure_logging
    from shared.settings import CommonSettings

    if len(args) != 2:
        raise SystemExit(main.__doc__)
    spec = json.loads(args[1])
    _die_with(spec["supervisor"])
    settings = CommonSettings()
    configure_logging(settings.log_level, settings.log_format)
    run_loop(serve_child(args[0], spec))  # uvloop, as the one-process mode


def _die_with(supervisor: int) -> None:
    """Linux: the kernel kills this process when the supervisor dies, so ``kill -9`` of
    ``up`` ends the whole system at once, as it does the one-process system (nothing is
    lost: every step commits or rolls back), and its ports are free for the next ``up``.
    Elsewhere the control pair's end stops it (``_supervisor_gone``)."""
    if sys.platform == "linux":
        import ctypes

        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG
    if os.getppid() != supervisor:  # gone before that took effect
        raise SystemExit(1)


if __name__ == "__main__":
    main(sys.argv[1:])
