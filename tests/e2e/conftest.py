"""Start ``servicekontor up`` as a user would: a subprocess on free ports. The tests then
act as its clients, with the bearer tokens ``up`` wrote to ``<data_dir>/credentials.json``."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.helpers import free_port, scaled, wait_until

SERVICES = ("intake", "routing", "agency_gateway", "reporting", "agency_simulator")


@dataclass
class RunningSystem:
    data_dir: Path
    log_path: Path
    ports: dict[str, int] = field(default_factory=lambda: {s: free_port() for s in SERVICES})
    process: subprocess.Popen | None = None
    log_level: str = "WARNING"  # INFO to see the lifecycle lines (servicekontor_stopped)
    # True: every port 0 (the kernel picks), and ``ports`` is read from the address card
    # ``up`` writes, <data_dir>/ports.json, on every start.
    any_port: bool = False
    extra_env: dict[str, str] = field(default_factory=dict)  # e.g. a longer agency timeout

    def url(self, service: str, path: str = "") -> str:
        return f"http://127.0.0.1:{self.ports[service]}{path}"

    def start(self) -> None:
        args = [sys.executable, "-m", "servicekontor.cli", "up", "--data-dir", str(self.data_dir)]
        for service, port in self.ports.items():
            args += [f"--{service.replace('_', '-')}-port", str(0 if self.any_port else port)]
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(args, stdout=log, stderr=log, env={**self.env(self.log_level), **self.extra_env})
        try:
            if self.any_port:
                card = wait_until(self.address_card, timeout=60)
                self.ports = {service: getattr(card, service) for service in SERVICES}
            wait_until(self.all_ready, timeout=60)
        except BaseException:
            # A start that fails leaves no system running behind the failed test.
            self.process.kill()
            self.process.wait(timeout=scaled(30))
            raise

    def address_card(self):
        """The card this process wrote (``<data_dir>/ports.json``), or None yet."""
        from servicekontor.instance import read_instance

        if self.process and self.process.poll() is not None:
            raise AssertionError(f"servicekontor up exited: {self.log_tail()}")
        card = read_instance(self.data_dir)
        return card if card is not None and self.process and card.pid == self.process.pid else None

    @staticmethod
    def env(log_level: str = "WARNING") -> dict[str, str]:
        """The embedded default: no Kafka, no PostgreSQL, the simulator for the agencies."""
        env = {**os.environ, "SK_LOG_LEVEL": log_level}
        for name in ("SK_KAFKA_BOOTSTRAP_SERVERS", "SK_AGENCY_ENDPOINTS", "SK_DATABASE_URL", "SK_VAULT_DATABASE_URL"):
            env.pop(name, None)
        return env

    def all_ready(self) -> bool:
        if self.process and self.process.poll() is not None:
            raise AssertionError(f"servicekontor up exited: {self.log_tail()}")
        if not (self.data_dir / "credentials.json").exists():
            return False  # written on first start, before the servers listen
        ops = self.headers("supervisor")
        return all(
            httpx.get(self.url(s, "/ready" if s != "agency_simulator" else "/health"), headers=ops, timeout=2).status_code
            == 200
            for s in SERVICES
        )

    def credentials(self) -> dict:
        """The tokens ``up`` wrote on first start (one per role and per agency)."""
        return json.loads((self.data_dir / "credentials.json").read_text())

    def headers(self, role: str) -> dict[str, str]:
        """The Authorization header of the ``role`` client (kiosk, desk, supervisor, bi, admin)."""
        return {"Authorization": f"Bearer {self.credentials()[role]}"}

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60) -> int:
        """Signal the system and wait for it to exit: ``timeout`` (times
        ``SK_TEST_TIME_FACTOR``) guards against a hang, it is no performance bound."""
        assert self.process is not None
        self.process.send_signal(sig)
        return self.process.wait(timeout=scaled(timeout))

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
        running.process.wait(timeout=scaled(10))
