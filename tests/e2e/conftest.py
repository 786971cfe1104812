"""Start ``servicekontor up`` as a user would: a subprocess on free ports."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.helpers import free_port, wait_until

SERVICES = ("intake", "routing", "agency_gateway", "reporting", "agency_simulator")


@dataclass
class RunningSystem:
    data_dir: Path
    log_path: Path
    ports: dict[str, int] = field(default_factory=lambda: {s: free_port() for s in SERVICES})
    process: subprocess.Popen | None = None

    def url(self, service: str, path: str = "") -> str:
        return f"http://127.0.0.1:{self.ports[service]}{path}"

    def start(self) -> None:
        args = [sys.executable, "-m", "servicekontor.cli", "up", "--data-dir", str(self.data_dir)]
        for service, port in self.ports.items():
            args += [f"--{service.replace('_', '-')}-port", str(port)]
        env = {**os.environ, "SK_LOG_LEVEL": "WARNING"}
        env.pop("SK_KAFKA_BOOTSTRAP_SERVERS", None)
        env.pop("SK_AGENCY_ENDPOINTS", None)
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(args, stdout=log, stderr=log, env=env)
        wait_until(self.all_ready, timeout=60)

    def all_ready(self) -> bool:
        if self.process and self.process.poll() is not None:
            raise AssertionError(f"servicekontor up exited: {self.log_tail()}")
        return all(
            httpx.get(self.url(s, "/ready" if s != "agency_simulator" else "/health"), timeout=2).status_code == 200
            for s in SERVICES
        )

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        assert self.process is not None
        self.process.send_signal(sig)
        return self.process.wait(timeout=timeout)

    def log_tail(self, chars: int = 3000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:]

    def query(self, service_db: str, sql: str) -> list[tuple]:
        with sqlite3.connect(self.data_dir / f"{service_db}.db", timeout=30) as db:
            return db.execute(sql).fetchall()


@pytest.fixture
def system(tmp_path):
    running = RunningSystem(tmp_path / "data", tmp_path / "servicekontor.log")
    running.start()
    yield running
    if running.process and running.process.poll() is None:
        running.process.kill()
        running.process.wait(timeout=10)
