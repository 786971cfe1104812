"""One contract, every implementation: the in-memory fake and SQLite (PostgreSQL joins
when distributed mode lands), as eventsourcing's persistence tests do."""

from __future__ import annotations

import pytest

from shared.consumer import EventConsumer
from shared.db import create_engine, create_tables, session_maker, sqlite_url
from shared.errors import ConcurrencyError
from shared.events import EventEnvelope
from shared.eventstore import read_log
from shared.outbox import InMemoryPublisher, OutboxRelay
from shared.tables import SHARED_TABLES
from shared.tracking import Checkpoint
from shared.unit_of_work import InMemoryUnitOfWork, SqlUnitOfWork
from tests.factories import envelope, visit_called
from tests.helpers import random_id


def called(visit_id: str, version: int) -> EventEnvelope:
    """Version ``n`` of the visit's stream, called to desk ``Dn``."""
    return envelope(visit_called(visit_id=visit_id, desk=f"D{version}"), stream_version=version)


class SqliteStore:
    def __init__(self, path):
        self.url = sqlite_url(path)
        self.engine = None

    async def open(self):
        self.engine = create_engine(self.url)
        await create_tables(self.engine, SHARED_TABLES, None)
        self.sessions = session_maker(self.engine)

    def uow(self):
        return SqlUnitOfWork(self.sessions)

    async def restart(self):
        await self.engine.dispose()
        await self.open()


class PostgresStore(SqliteStore):
    """The same contract on real PostgreSQL, in a fresh database and its own schema."""

    def __init__(self, url):
        self.url = url
        self.engine = None

    async def open(self):
        self.engine = create_engine(self.url, schema="contract")
        await create_tables(self.engine, SHARED_TABLES, "contract")
        self.sessions = session_maker(self.engine)


class MemoryStore:
    async def open(self):
        self.shared = InMemoryUnitOfWork()

    def uow(self):
        return InMemoryUnitOfWork(self.shared.state)

    async def restart(self):
        pass


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.realservers)])
async def store(request, tmp_path):
    if request.param == "postgres":
        real_servers = request.getfixturevalue("real_servers")
        impl = PostgresStore(await real_servers.fresh_database())
    else:
        impl = MemoryStore() if request.param == "memory" else SqliteStore(tmp_path / "events.db")
    await impl.open()
    yield impl
    if getattr(impl, "engine", None):
        await impl.engine.dispose()


async def append(store, *envelopes):
    async with store.uow() as uow:
        uow.events.append(list(envelopes))
        await uow.commit()


async def test_a_stream_loads_in_version_order_with_its_payload(store):
    vid = random_id()
    await append(store, called(vid, 1), called(vid, 2))
    async with store.uow() as uow:
        loaded = await uow.events.load(vid)
    assert [(e.stream_version, e.payload["desk"]) for e in loaded] == [(1, "D1"), (2, "D2")]
    assert loaded[0].event().desk == "D1"


async def test_a_second_writer_of_the_same_version_is_refused_and_writes_nothing(store):
    vid = random_id()
    await append(store, called(vid, 1))
    with pytest.raises(ConcurrencyError):
        await append(store, called(vid, 2), called(vid, 1))
    async with store.uow() as uow:
        assert [e.stream_version for e in await uow.events.load(vid)] == [1]


async def test_uncommitted_events_are_rolled_back(store):
    vid = random_id()
    async with store.uow() as uow:
        uow.events.append([called(vid, 1)])
    async with store.uow() as uow:
        assert await uow.events.load(vid) == []


async def test_consumer_handles_each_event_once_and_resumes_after_restart(store):
    seen: list[str] = []

    async def handler(event, envelope, uow):
        seen.append(envelope.stream_id)

    consumer = EventConsumer("c", ["t"], store.uow, {"intake.VisitCalled": handler})
    first, second = called(random_id(), 1), called(random_id(), 1)
    await consumer.handle(first, Checkpoint("t", 0, 1))
    await consumer.handle(first, Checkpoint("t", 0, 1))
    await store.restart()
    consumer = EventConsumer("c", ["t"], store.uow, {"intake.VisitCalled": handler})
    assert await consumer.positions() == {("t", 0): 1}
    await consumer.handle(first, Checkpoint("t", 0, 1))
    await consumer.handle(second, Checkpoint("t", 0, 2))
    assert seen == [first.stream_id, second.stream_id]
    assert await consumer.positions() == {("t", 0): 2}


async def test_a_handler_that_keeps_failing_is_dead_lettered_and_does_not_block(store):
    async def broken(event, envelope, uow):
        raise RuntimeError("poison")

    consumer = EventConsumer("c", ["t"], store.uow, {"intake.VisitCalled": broken}, max_attempts=2, max_backoff=0.01)
    await consumer.handle(called(random_id(), 1), Checkpoint("t", 0, 7))
    assert consumer.dead_lettered == 1
    assert await consumer.positions() == {("t", 0): 7}


async def test_outbox_relay_publishes_in_order_and_resumes_from_its_position(tmp_path):
    store = SqliteStore(tmp_path / "outbox.db")
    await store.open()
    vid = random_id()
    await append(store, called(vid, 1), called(vid, 2))
    publisher = InMemoryPublisher()
    relay = OutboxRelay("topic", store.sessions, publisher)
    assert await relay.relay_once() == 2
    await append(store, called(vid, 3))
    await store.restart()
    relay = OutboxRelay("topic", store.sessions, publisher)
    assert await relay.backlog() == 1
    assert await relay.relay_once() == 1
    assert await relay.relay_once() == 0
    assert [e.stream_version for _, e in publisher.sent] == [1, 2, 3]
    async with store.sessions() as session:
        assert [item.position for item in await read_log(session, 0, 10)] == [1, 2, 3]
    await store.engine.dispose()
