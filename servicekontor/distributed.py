"""``servicekontor up --distributed``: the four services as separate processes on Kafka +
PostgreSQL (each one ``servicekontor serve <service>``), plus the agency simulator unless
real agency endpoints are configured. Stops them all on SIGINT/SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import structlog

from servicekontor.runner import SERVICES

log = structlog.get_logger("servicekontor")


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "servicekontor.cli", *args]


def run_distributed(with_simulator: bool, simulator_port: int, data_dir: str) -> int:
    from servicekontor.runner import announce_credentials

    announce_credentials(Path(data_dir))
    env = {**os.environ, "SK_DATA_DIR": data_dir}  # where the development keys live
    subprocess.run(cli("migrate"), check=True, env=env)
    commands = [cli("serve", name) for name in SERVICES]
    if with_simulator:
        log.warning("AGENCY SIMULATOR IN USE: not an agency system", port=simulator_port)
        commands.append(cli("agency-sim", "--port", str(simulator_port), "--data-dir", data_dir))
    children = [subprocess.Popen(command, env=env) for command in commands]
    stopping: dict[str, Any] = {"signal": None}

    def stop(signum, _frame) -> None:
        stopping["signal"] = signum

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    while stopping["signal"] is None and all(c.poll() is None for c in children):
        time.sleep(0.2)  # the parent only supervises; a signal or a dead child ends it
    for child in children:
        if child.poll() is None:
            child.terminate()
    codes = [child.wait(timeout=30) for child in children]
    log.info("servicekontor_stopped", exit_codes=codes)
    return 0 if stopping["signal"] is not None else 1
