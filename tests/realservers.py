"""Real Apache Kafka and PostgreSQL for the test suite. Mocks never stand in for them.

Chosen in this order:
1. endpoints given in ``SK_KAFKA_BOOTSTRAP_SERVERS`` and ``SK_DATABASE_URL``;
2. testcontainers (Kafka and PostgreSQL images) when a Docker engine answers;
3. the project's own ``deploy/local/`` scripts (Kafka from Maven Central jars, PostgreSQL
   from Debian's packages), stopped again at the end if this run started them.
If none works the real-server tests are skipped with the reason; ``.ci/run`` fails then.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import uuid
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import asyncpg

ROOT = Path(__file__).resolve().parents[1]
LOCAL = ROOT / "deploy" / "local"
SKIP_REASON_PREFIX = "real servers unavailable"


@dataclass
class RealServers:
    kafka_bootstrap_servers: str
    database_url: str  # SQLAlchemy URL (postgresql+asyncpg://...)
    origin: str

    @property
    def asyncpg_dsn(self) -> str:
        return self.database_url.replace("postgresql+asyncpg://", "postgresql://")

    async def fresh_database(self) -> str:
        """A new, empty database on the server: tests never see each other's rows."""
        name = f"sk_test_{uuid.uuid4().hex[:12]}"
        conn = await asyncpg.connect(self.asyncpg_dsn)
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
        return self.database_url.rsplit("/", 1)[0] + f"/{name}"


def _port_open(host_port: str) -> bool:
    host, port = host_port.rsplit(":", 1)
    try:
        with socket.create_connection((host, int(port)), timeout=1):
            return True
    except OSError:
        return False


def _docker_engine_answers() -> bool:
    if not shutil.which("docker"):
        return False
    result = subprocess.run(["docker", "info"], capture_output=True, timeout=15, check=False)
    return result.returncode == 0


def _from_testcontainers(stack: ExitStack) -> RealServers:
    from testcontainers.kafka import KafkaContainer
    from testcontainers.postgres import PostgresContainer

    kafka = stack.enter_context(KafkaContainer("confluentinc/cp-kafka:7.6.0").with_kraft())
    pg = stack.enter_context(PostgresContainer("postgres:16", driver="asyncpg"))
    return RealServers(kafka.get_bootstrap_server(), pg.get_connection_url(), "testcontainers")


def _from_local_scripts(stack: ExitStack) -> RealServers:
    was_running = _port_open("127.0.0.1:" + os.environ.get("SK_LOCAL_KAFKA_PORT", "9092"))
    result = subprocess.run(
        [str(LOCAL / "start-all.sh")], capture_output=True, text=True, timeout=600, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"deploy/local/start-all.sh failed: {result.stderr[-2000:]}")
    exports = dict(
        line.removeprefix("export ").split("=", 1)
        for line in result.stdout.splitlines()
        if line.startswith("export ")
    )
    if not was_running:
        stack.callback(subprocess.run, [str(LOCAL / "stop-all.sh")], capture_output=True, check=False)
    return RealServers(exports["SK_KAFKA_BOOTSTRAP_SERVERS"], exports["SK_DATABASE_URL"], "deploy/local")


def _served_by_local_scripts(kafka: str, database_url: str) -> bool:
    """Whether the given endpoints are the ones ``deploy/local`` runs (started by hand with
    ``eval "$(deploy/local/start-all.sh)"``): then its stop and start scripts control them."""
    state = Path(os.environ.get("SK_LOCAL_STATE", ROOT / ".local-servers"))
    try:
        kafka_port = (state / "kafka" / "port").read_text().strip()
        pg_port = (state / "postgres" / "data" / "postmaster.pid").read_text().splitlines()[3].strip()
    except (OSError, IndexError):
        return False
    host_port = database_url.split("@", 1)[-1].split("/", 1)[0]
    return kafka.rsplit(":", 1)[-1] == kafka_port and host_port.rsplit(":", 1)[-1] == pg_port


# The servers the environment names are for the suite's real-server fixture only: left in
# os.environ, every settings object a test makes (IntakeSettings(data_dir=tmp) meaning "on
# SQLite") would read them, and tests meant for SQLite would write into the shared server.
_GIVEN: dict[str, str] = {}
_KEEP = ("SK_FUZZ_DATABASE_URL", "SK_ADMIN_DATABASE_URL")


def take_from_environment() -> dict[str, str]:
    """Move ``SK_KAFKA_BOOTSTRAP_SERVERS`` and every ``SK_*DATABASE_URL`` (but the fuzz
    and admin ones, which only tests read) out of ``os.environ``; ``acquire`` uses them."""
    for name in [n for n in os.environ if n == "SK_KAFKA_BOOTSTRAP_SERVERS"
                 or (n.startswith("SK_") and n.endswith("DATABASE_URL") and n not in _KEEP)]:
        _GIVEN[name] = os.environ.pop(name)
    return _GIVEN


def acquire(stack: ExitStack) -> RealServers | str:
    """The servers, or the reason there are none."""
    given = {**_GIVEN, **os.environ}
    kafka, db = given.get("SK_KAFKA_BOOTSTRAP_SERVERS"), given.get("SK_DATABASE_URL")
    if kafka and db:
        origin = "deploy/local" if _served_by_local_scripts(kafka, db) else "environment"
        return RealServers(kafka, db, origin)
    errors = []
    if _docker_engine_answers():
        try:
            return _from_testcontainers(stack)
        except Exception as error:  # noqa: BLE001 - fall through to the next way, keep why
            errors.append(f"testcontainers: {error}")
    try:
        return _from_local_scripts(stack)
    except Exception as error:  # noqa: BLE001
        errors.append(f"deploy/local: {error}")
    return f"{SKIP_REASON_PREFIX}: " + "; ".join(errors)


def with_login(url: str, user: str, password: str) -> str:
    """``url`` with another login, whatever login it had (``servicekontor`` from
    deploy/local, ``test`` from testcontainers, anything from the environment)."""
    from sqlalchemy.engine import make_url

    return make_url(url).set(username=user, password=password).render_as_string(hide_password=False)
