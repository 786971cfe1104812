"""The services as separate ``servicekontor serve`` processes on real Kafka + PostgreSQL.

They share ``SK_DATA_DIR`` (the work directory): its ``auth/`` holds the development key
pair that verifies bearer tokens (and signs the simulator's callback tokens) and the
vault's master key. The tests' tokens are signed with the same key (``headers``)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from shared.auth import ensure_keys
from tests.helpers import auth, free_port, scaled, wait_until
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
    extra_env: dict[str, str] = field(default_factory=dict)  # e.g. SK_RATE_LIMIT for a benchmark

    def __post_init__(self) -> None:
        # The key pair first, before any process could make its own at the same moment.
        ensure_keys(self.work_dir.resolve() / "auth")

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "SK_DATABASE_URL": self.database_url,
            "SK_KAFKA_BOOTSTRAP_SERVERS": self.servers.kafka_bootstrap_servers,
            "SK_KAFKA_TOPIC_PREFIX": self.prefix,
            "SK_AGENCY_SIMULATOR_URL": f"http://127.0.0.1:{self.sim_port}",
            "SK_DATA_DIR": str(self.work_dir),
            "SK_LOG_LEVEL": "WARNING",
            **self.extra_env,
        }

    def headers(self, role: str, agency: str | None = None, subject: str | None = None) -> dict[str, str]:
        """A client's Authorization header: kiosk, desk, supervisor, bi, admin (or agency)."""
        return auth(self.work_dir, role, agency, subject)

    def migrate(self) -> None:
        done = subprocess.run(self._cli("migrate"), env=self.env(), capture_output=True, text=True, timeout=120, check=False)
        assert done.returncode == 0, f"servicekontor migrate failed: {done.stderr[-3000:]}"

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
        return httpx.get(process.url(path), headers=self.headers("supervisor"), timeout=2).status_code == 200

    def first(self, service: str) -> Process:
        return next(p for p in self.processes if p.name == service and p.popen.poll() is None)

    def kill(self, process: Process) -> None:
        process.popen.send_signal(signal.SIGKILL)
        process.popen.wait(timeout=scaled(10))

    def stop_all(self) -> None:
        for process in self.processes:
            if process.popen.poll() is None:
                process.popen.terminate()
        for process in self.processes:
            try:
                process.popen.wait(timeout=scaled(30))
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

    def postgres_rows(self) -> list[tuple[str, str]]:
        """Every row of every table in every schema of the system's database, as text."""
        import asyncpg

        async def run() -> list[tuple[str, str]]:
            conn = await asyncpg.connect(self.database_url.replace("postgresql+asyncpg://", "postgresql://"))
            try:
                tables = await conn.fetch(
                    "select table_schema, table_name from information_schema.tables "
                    "where table_type = 'BASE TABLE' "
                    "and table_schema not in ('pg_catalog', 'information_schema') order by 1, 2"
                )
                dumped = []
                for schema, table in tables:
                    rows = await conn.fetch(f'select t::text as row from "{schema}"."{table}" t')
                    dumped.append((f"postgres {schema}.{table}", "\n".join(r["row"] for r in rows)))
                return dumped
            finally:
                await conn.close()

        return asyncio.run(run())

    def kafka_records(self) -> list[tuple[str, bytes]]:
        """Every record (key, value, headers) of every topic of this system, from the start."""
        return asyncio.run(read_topics(self.servers.kafka_bootstrap_servers, self.prefix))

    @staticmethod
    def _cli(*args: str) -> list[str]:
        return [sys.executable, "-m", "servicekontor.cli", *args]


def local_script(name: str) -> None:
    subprocess.run([str(LOCAL / name)], check=True, capture_output=True, timeout=300)


async def read_topics(bootstrap: str, prefix: str) -> list[tuple[str, bytes]]:
    """Each topic whose name starts with ``prefix``, read from the beginning to its end."""
    from aiokafka import AIOKafkaConsumer, TopicPartition
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        names = sorted(t for t in await admin.list_topics() if t.startswith(prefix))
        described = await admin.describe_topics(names) if names else []
    finally:
        await admin.close()
    partitions_of = {d["topic"]: sorted(p["partition"] for p in d["partitions"]) for d in described}
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
    await consumer.start()
    found: list[tuple[str, bytes]] = []
    try:
        for name in names:
            partitions = [TopicPartition(name, p) for p in partitions_of[name]]
            assert partitions, f"topic {name} has no partitions"
            consumer.assign(partitions)
            await consumer.seek_to_beginning(*partitions)
            ends = await consumer.end_offsets(partitions)
            records: list[bytes] = []
            deadline = time.monotonic() + 60
            while [tp for tp in partitions if await consumer.position(tp) < ends[tp]]:
                assert time.monotonic() < deadline, f"could not read {name} to its end within 60 s"
                for batch in (await consumer.getmany(*partitions, timeout_ms=1000)).values():
                    for record in batch:
                        headers = b"".join(k.encode() + b"=" + (v or b"") + b";" for k, v in record.headers or ())
                        records.append((record.key or b"") + b"\t" + (record.value or b"") + b"\t" + headers)
            found.append((f"kafka {name} ({len(records)} records)", b"\n".join(records)))
    finally:
        await consumer.stop()
    return found
