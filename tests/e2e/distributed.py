"""The services as separate ``servicekontor serve`` processes on real Kafka + PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.helpers import free_port, wait_until
from tests.realservers import LOCAL, RealServers


@dataclass
class Process:
    name: str
    port: int
    popen: subprocess.Popen

    def url(self, path: str = "") -> str:
        return f"http://127.0.0.1:{self.port}{path}"


@dataclass
class DistributedSystem:
    servers: RealServers
    database_url: str
    work_dir: Path
    prefix: str = field(default_factory=lambda: f"t{uuid.uuid4().hex[:8]}.")
    processes: list[Process] = field(default_factory=list)
    sim_port: int = field(default_factory=free_port)

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "SK_DATABASE_URL": self.database_url,
            "SK_KAFKA_BOOTSTRAP_SERVERS": self.servers.kafka_bootstrap_servers,
            "SK_KAFKA_TOPIC_PREFIX": self.prefix,
            "SK_AGENCY_SIMULATOR_URL": f"http://127.0.0.1:{self.sim_port}",
            "SK_DATA_DIR": str(self.work_dir),
            "SK_LOG_LEVEL": "WARNING",
        }

    def migrate(self) -> None:
        subprocess.run(self._cli("migrate"), env=self.env(), check=True, capture_output=True, timeout=120)

    def start(self, service: str) -> Process:
        port = free_port()
        args = self._cli("serve", service, "--port", str(port))
        if service == "agency_simulator":
            port = self.sim_port
            args = self._cli("agency-sim", "--port", str(port), "--data-dir", str(self.work_dir))
        log = (self.work_dir / f"{service}-{port}.log").open("ab")
        process = Process(service, port, subprocess.Popen(args, env=self.env(), stdout=log, stderr=log))
        self.processes.append(process)
        wait_until(lambda: self._ready(process), timeout=90)
        return process

    def _ready(self, process: Process) -> bool:
        if process.popen.poll() is not None:
            log = (self.work_dir / f"{process.name}-{process.port}.log").read_text(errors="replace")
            raise AssertionError(f"{process.name} exited: {log[-3000:]}")
        path = "/health" if process.name == "agency_simulator" else "/ready"
        return httpx.get(process.url(path), timeout=2).status_code == 200

    def first(self, service: str) -> Process:
        return next(p for p in self.processes if p.name == service and p.popen.poll() is None)

    def kill(self, process: Process) -> None:
        process.popen.send_signal(signal.SIGKILL)
        process.popen.wait(timeout=10)

    def stop_all(self) -> None:
        for process in self.processes:
            if process.popen.poll() is None:
                process.popen.terminate()
        for process in self.processes:
            try:
                process.popen.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.popen.kill()

    def sql(self, query: str) -> list:
        import asyncpg

        async def run():
            conn = await asyncpg.connect(self.database_url.replace("postgresql+asyncpg://", "postgresql://"))
            try:
                return await conn.fetch(query)
            finally:
                await conn.close()

        return asyncio.run(run())

    @staticmethod
    def _cli(*args: str) -> list[str]:
        return [sys.executable, "-m", "servicekontor.cli", *args]


def local_script(name: str) -> None:
    subprocess.run([str(LOCAL / name)], check=True, capture_output=True, timeout=300)
