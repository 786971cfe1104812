"""What the gateway failure tests run on, behind one small interface so that other
backends (Kafka + PostgreSQL) plug in as another factory in ``RIGS``.

A rig says where the gateway's database is, which environment and arguments the gateway
process needs, and how the test feeds ``routing.CaseRoutedToAgency`` events to it.
``Processes`` starts and kills the simulator and the gateway as separate processes.
Both run with ``SK_DATA_DIR`` at the test's directory: its ``auth/`` key pair verifies the
test's bearer tokens at the gateway (``Processes.headers``) and signs the simulator's.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from shared.db import create_engine, create_tables, session_maker, sqlite_url
from shared.events import EventEnvelope
from shared.eventstore import SqlEventStore
from shared.tables import SHARED_TABLES
from shared.topics import ROUTING
from tests.helpers import auth, free_port, scaled
from tests.integration.gateway_support import routed

Feed = Callable[[list[EventEnvelope]], Awaitable[None]]


@dataclass
class Rig:
    name: str
    gateway_database_url: str
    gateway_env: dict[str, str]
    gateway_args: list[str]
    feed: Feed
    close: Callable[[], Awaitable[None]]


async def embedded_rig(tmp_path: Path) -> Rig:
    """SQLite files; the routing topic is a routing-like event store the test writes."""
    routing_url = sqlite_url(tmp_path / "routing.db")
    engine = create_engine(routing_url, schema="routing")
    await create_tables(engine, SHARED_TABLES, "routing")
    sessions = session_maker(engine)

    async def feed(envelopes: list[EventEnvelope]) -> None:
        async with sessions() as session:
            store = SqlEventStore(session)
            store.append(envelopes)
            await store.flush()
            await session.commit()

    gateway_url = sqlite_url(tmp_path / "agency_gateway.db")
    return Rig(
        name="embedded",
        gateway_database_url=gateway_url,
        gateway_env={"SK_AGENCY_GATEWAY_DATABASE_URL": gateway_url},
        gateway_args=["--routing-database-url", routing_url],
        feed=feed,
        close=engine.dispose,
    )


async def kafka_rig(tmp_path: Path, real_servers) -> Rig:
    """Real Kafka + PostgreSQL: the test publishes to the (prefixed) routing topic, the
    gateway consumes it in its consumer group and keeps its state in its own schema."""
    from aiokafka import AIOKafkaProducer

    from shared.kafka_bus import KafkaBus, KafkaPublisher

    prefix = f"f{uuid.uuid4().hex[:8]}."
    database_url = await real_servers.fresh_database()
    topics_bus = KafkaBus(real_servers.kafka_bootstrap_servers, topics=[ROUTING], prefix=prefix)
    await topics_bus.ensure_topics()
    producer = AIOKafkaProducer(
        bootstrap_servers=real_servers.kafka_bootstrap_servers, enable_idempotence=True, acks="all"
    )
    await producer.start()

    async def feed(envelopes: list[EventEnvelope]) -> None:
        await KafkaPublisher(producer).publish(topics_bus.physical(ROUTING), envelopes)

    return Rig(
        name="kafka",
        gateway_database_url=database_url,
        gateway_env={
            "SK_DATABASE_URL": database_url,
            "SK_KAFKA_BOOTSTRAP_SERVERS": real_servers.kafka_bootstrap_servers,
            "SK_KAFKA_TOPIC_PREFIX": prefix,
        },
        gateway_args=[],
        feed=feed,
        close=producer.stop,
    )


RIGS: dict[str, Callable[..., Awaitable[Rig]]] = {"embedded": embedded_rig, "kafka": kafka_rig}


def routed_case(agency: str) -> EventEnvelope:
    return routed(agency, office_id="kiruna", case_type="ovrigt", text="Komplicerad fråga")


@dataclass
class Processes:
    """The simulator and the gateway, each its own process, logs in ``tmp_path``."""

    tmp_path: Path
    rig: Rig
    gateway_settings: dict[str, str]
    sim_port: int = field(default_factory=free_port)
    gateway_port: int = field(default_factory=free_port)
    running: dict[str, subprocess.Popen] = field(default_factory=dict)
    role: str = "supervisor"  # reads deliveries, the agencies' breakers and /ready

    def __post_init__(self) -> None:
        # Signing the test's token makes the key pair, before either process could.
        self.headers = auth(self.tmp_path, self.role)

    @property
    def sim_url(self) -> str:
        return f"http://127.0.0.1:{self.sim_port}"

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.gateway_port}"

    def start_simulator(self, *flags: str) -> None:
        args = ["-m", "services.agency_simulator", "--port", str(self.sim_port)]
        self._start("simulator", [*args, "--data-dir", str(self.tmp_path / "sim"), *flags], {})

    def start_gateway(self) -> None:
        env = {**self.rig.gateway_env, **self.gateway_settings, "SK_AGENCY_SIMULATOR_URL": self.sim_url}
        args = ["-m", "tests.fault.gateway_harness", "--port", str(self.gateway_port)]
        self._start("gateway", [*args, *self.rig.gateway_args], env)

    def _start(self, name: str, args: list[str], env: dict[str, str]) -> None:
        log = (self.tmp_path / f"{name}.log").open("ab")
        environment = {**os.environ, "SK_LOG_LEVEL": "WARNING", "SK_DATA_DIR": str(self.tmp_path), **env}
        self.running[name] = subprocess.Popen(
            [sys.executable, *args], stdout=log, stderr=log, env=environment
        )

    def kill(self, name: str) -> None:
        process = self.running.pop(name)
        process.kill()
        process.wait(timeout=scaled(10))

    def check_alive(self) -> None:
        for name, process in self.running.items():
            if process.poll() is not None:
                raise AssertionError(f"{name} exited: {self.log_tail(name)}")

    def log_tail(self, name: str, chars: int = 3000) -> str:
        path = self.tmp_path / f"{name}.log"
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""

    def stop_all(self) -> None:
        """SIGTERM first (a clean stop; coverage saves its data), SIGKILL if it hangs."""
        for process in self.running.values():
            process.terminate()
        for name, process in list(self.running.items()):
            try:
                process.wait(timeout=scaled(15))
            except subprocess.TimeoutExpired:
                self.kill(name)
        self.running.clear()
