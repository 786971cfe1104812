"""``servicekontor up --distributed``: the four services as separate processes on Kafka +
PostgreSQL (each one ``servicekontor serve <service>``), plus the agency simulator unless
real agency endpoints are configured (it sends its status callbacks to the gateway).

Once every process answers, ``<data_dir>/ports.json`` names their ports (as ``up`` does).
On SIGINT/SIGTERM the simulator stops first (the callbacks it still owes reach the gateway,
which still listens), then the services, each with its own bounded stop (``runner``); the
whole within ``STOP_SECONDS`` of the signal: a process still running then is killed (its
work is transactional: a restart resumes it) and the exit code says so."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import structlog

from servicekontor.instance import Instance, remove_instance, write_instance
from servicekontor.runner import SERVICES, STOP_SECONDS, reachable, service_settings

log = structlog.get_logger("servicekontor")

SIMULATOR_STOP_SECONDS = 3.0  # its callbacks owed are sent within DRAIN_SECONDS


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "servicekontor.cli", *args]


def simulator_command(port: int, data_dir: str, callback_url: str) -> list[str]:
    return [sys.executable, "-m", "servicekontor.distributed", "agency-sim", str(port), data_dir, callback_url]


def run_distributed(with_simulator: bool, simulator_port: int, data_dir: str) -> int:
    from servicekontor.runner import announce_credentials

    announce_credentials(Path(data_dir))
    env = {**os.environ, "SK_DATA_DIR": data_dir}  # where the development keys live
    subprocess.run(cli("migrate"), check=True, env=env)
    settings = {name: service_settings(name, {"data_dir": data_dir}) for name in SERVICES}
    host = settings["intake"].host
    ports: dict[str, Any] = {name: settings[name].port for name in SERVICES}
    if with_simulator:  # the gateway sends its cases to this simulator
        env["SK_AGENCY_SIMULATOR_URL"] = f"http://{reachable(host)}:{simulator_port}"
    children = {name: subprocess.Popen(cli("serve", name), env=env) for name in SERVICES}
    if with_simulator:
        log.warning("AGENCY SIMULATOR IN USE: not an agency system", port=simulator_port)
        gateway = f"http://{reachable(host)}:{ports['agency_gateway']}"
        children["agency_simulator"] = subprocess.Popen(simulator_command(simulator_port, data_dir, gateway), env=env)
        ports["agency_simulator"] = simulator_port
    stopping: dict[str, Any] = {"signal": None, "at": None}

    def stop(signum, _frame) -> None:
        if stopping["signal"] is None:
            stopping["signal"], stopping["at"] = signum, time.monotonic()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    announced = False
    while stopping["signal"] is None and all(c.poll() is None for c in children.values()):
        if not announced and _all_answer(host, ports):
            write_instance(Path(data_dir), Instance(host=host, **{**dict.fromkeys(("agency_simulator",)), **ports},
                                                    pid=os.getpid()))
            log.info("servicekontor_up", host=host, ports=ports, distributed=True)
            announced = True
        time.sleep(0.2)  # the parent only supervises; a signal or a dead child ends it
    started = stopping["at"] or time.monotonic()
    log.info("servicekontor_stopping", signal=stopping["signal"] and signal.Signals(stopping["signal"]).name)
    deadline = started + STOP_SECONDS - 0.5
    simulator = children.get("agency_simulator")
    if simulator is not None:
        _terminate_and_wait([simulator], min(deadline, time.monotonic() + SIMULATOR_STOP_SECONDS))
    _terminate_and_wait([c for c in children.values() if c is not simulator], deadline)
    codes = {name: child.poll() for name, child in children.items()}
    if stopping["signal"] is not None:
        remove_instance(Path(data_dir), os.getpid())
    log.info("servicekontor_stopped", exit_codes=codes, seconds=round(time.monotonic() - started, 2))
    return 0 if stopping["signal"] is not None and all(code == 0 for code in codes.values()) else 1


def _terminate_and_wait(children: list[subprocess.Popen], deadline: float) -> None:
    for child in children:
        if child.poll() is None:
            child.terminate()
    for child in children:
        try:
            child.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            log.error("process_killed_after_stop_bound", pid=child.pid, args=child.args[-2:])
            child.kill()
            child.wait()


def _all_answer(host: str, ports: dict[str, int]) -> bool:
    try:
        return all(
            httpx.get(f"http://{reachable(host)}:{port}/health", timeout=1).status_code == 200
            for port in ports.values()
        )
    except httpx.HTTPError:
        return False


def main(args: list[str]) -> None:
    """``python -m servicekontor.distributed agency-sim PORT DATA_DIR CALLBACK_URL``."""
    from servicekontor.runner import serve_simulator
    from shared.logging import configure_logging
    from shared.settings import CommonSettings

    if len(args) != 4 or args[0] != "agency-sim":
        raise SystemExit(main.__doc__)
    settings = CommonSettings()
    configure_logging(settings.log_level, settings.log_format)
    asyncio.run(serve_simulator(int(args[1]), Path(args[2]), args[3], settings.host))


if __name__ == "__main__":
    main(sys.argv[1:])
