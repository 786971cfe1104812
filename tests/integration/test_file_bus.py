"""The embedded bus across processes (shared/file_bus.py, ``up --processes``): a producer
in another process writes its SQLite event store and wakes the reader with a datagram;
the reader (here) reads the store read-only, in position order, and keeps its position in
its own store, so a restarted reader resumes where it stopped, and a datagram, not the
slow poll, is what makes it read at once."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path

import pytest

from shared.consumer import EventConsumer
from shared.db import create_engine, create_tables, session_maker, sqlite_url
from shared.file_bus import FileBus, ForeignLog, Wakeups, channel_address
from shared.tables import SHARED_TABLES
from shared.unit_of_work import SqlUnitOfWork
from tests.factories import envelope, visit_called
from tests.helpers import random_id, scaled

TOPIC = "servicekontor.test.events"
ROOT = Path(__file__).resolve().parents[2]
NO_POLL = 600.0  # longer than any test: only a wake-up makes the reader read


def produce(data_dir: str, commits: int, per_commit: int) -> None:
    """The producer's process: ``commits`` transactions of ``per_commit`` events each, one
    stream per commit, each commit waking the reader (its unit of work's hook)."""

    async def run() -> None:
        engine = create_engine(sqlite_url(Path(data_dir) / "producer.db"))
        await create_tables(engine, SHARED_TABLES, None)
        wakeups = Wakeups(channel_address(Path(data_dir), "producer"), [channel_address(Path(data_dir), "reader")])
        bus = FileBus(wakeups)
        sessions = session_maker(engine)
        for _ in range(commits):
            visit = random_id()
            async with SqlUnitOfWork(sessions, [bus.notifier(TOPIC)]) as uow:
                uow.events.append([envelope(visit_called(visit_id=visit, desk=f"D{n}"), stream_version=n)
                                   for n in range(1, per_commit + 1)])
                await uow.commit()
        await engine.dispose()

    asyncio.run(run())


def run_producer(data_dir: Path, commits: int, per_commit: int = 3) -> None:
    code = f"from tests.integration.test_file_bus import produce; produce({str(data_dir)!r}, {commits}, {per_commit})"
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=scaled(60))


class Reader:
    """The consuming service: an ``EventConsumer`` whose position and inbox are in its own
    store, on a ``FileBus`` that reads the producer's store."""

    def __init__(self, data_dir: Path, idle_poll_seconds: float = NO_POLL) -> None:
        self.data_dir = data_dir
        self.idle_poll_seconds = idle_poll_seconds
        self.seen: list[tuple[str, int]] = []  # (stream, version) in the order handled

    async def start(self) -> None:
        self.engine = create_engine(sqlite_url(self.data_dir / "reader.db"))
        await create_tables(self.engine, SHARED_TABLES, None)
        sessions = session_maker(self.engine)

        async def handle(event, env, _uow) -> None:
            self.seen.append((env.stream_id, env.stream_version))

        self.consumer = EventConsumer("reader", [TOPIC], lambda: SqlUnitOfWork(sessions), {"intake.VisitCalled": handle})
        wakeups = Wakeups(channel_address(self.data_dir, "reader"), [])
        self.bus = FileBus(wakeups, batch_size=4, idle_poll_seconds=self.idle_poll_seconds)
        self.bus.register_file(TOPIC, sqlite_url(self.data_dir / "producer.db"))
        self.bus.subscribe(self.consumer)
        self.task = asyncio.create_task(self.bus.run())
        await asyncio.sleep(0.2)  # listening

    async def stop(self) -> None:
        self.bus.stop_soon()
        await asyncio.wait_for(self.task, scaled(10))
        await self.engine.dispose()

    async def until(self, count: int, seconds: float = 10.0) -> None:
        deadline = time.monotonic() + scaled(seconds)
        while len(self.seen) < count and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        assert len(self.seen) >= count, f"handled {len(self.seen)} of {count}"


def assert_in_order(seen: list[tuple[str, int]]) -> None:
    by_stream: dict[str, list[int]] = {}
    for stream, version in seen:
        by_stream.setdefault(stream, []).append(version)
    assert all(versions == sorted(versions) == list(range(1, len(versions) + 1)) for versions in by_stream.values())


async def test_events_of_another_process_arrive_in_order_woken_not_polled(tmp_path):
    """The reader polls once an idle hour: every event still arrives within seconds, each
    stream in order, because each of the producer's commits wakes it."""
    reader = Reader(tmp_path)
    await reader.start()
    try:
        await asyncio.to_thread(run_producer, tmp_path, 5)
        await reader.until(15)
        assert_in_order(reader.seen)
        assert len(set(reader.seen)) == 15
        await asyncio.to_thread(run_producer, tmp_path, 2)  # and again, the reader idle between
        await reader.until(21)
    finally:
        await reader.stop()


async def test_a_restarted_reader_resumes_at_its_own_position_and_doubles_nothing(tmp_path):
    reader = Reader(tmp_path)
    await reader.start()
    await asyncio.to_thread(run_producer, tmp_path, 4)
    await reader.until(12)
    await reader.stop()
    # Stopped: the producer goes on, and the reader is not there to be woken.
    await asyncio.to_thread(run_producer, tmp_path, 3)
    again = Reader(tmp_path)
    await again.start()  # reads what it missed at once, from its own position
    try:
        await again.until(9)
        await asyncio.sleep(0.3)
        assert len(again.seen) == 9, "only what followed its position"
        assert not set(again.seen) & set(reader.seen)
        assert_in_order(reader.seen + again.seen)
    finally:
        await again.stop()


async def test_a_store_not_made_yet_reads_as_an_empty_log_then_its_events(tmp_path):
    """A consumer's process may start before the producer's has made its store."""
    log = ForeignLog(sqlite_url(tmp_path / "producer.db"))
    try:
        assert await log.read_log(0, 10) == []
        assert not (tmp_path / "producer.db").exists(), "a read-only reader makes no store"
        await asyncio.to_thread(run_producer, tmp_path, 1, 2)
        assert [item.position for item in await log.read_log(0, 10)] == [1, 2]
    finally:
        await log.close()


async def test_a_reader_woken_without_a_listener_falls_back_to_its_poll(tmp_path):
    """When the wake-up address is taken (another system on the same data dir name), the
    reader still reads: its slow poll."""
    squatter = Wakeups(channel_address(tmp_path, "reader"), [])
    assert squatter.listen(asyncio.get_running_loop(), lambda _topic: None)
    reader = Reader(tmp_path, idle_poll_seconds=0.3)
    await reader.start()
    try:
        await asyncio.to_thread(run_producer, tmp_path, 2)
        await reader.until(6)
    finally:
        await reader.stop()
        squatter.close(asyncio.get_running_loop())


@pytest.mark.skipif(sys.platform != "linux", reason="abstract socket names are Linux's")
def test_the_wakeup_address_names_the_data_dir_and_the_service(tmp_path):
    assert channel_address(tmp_path, "routing") != channel_address(tmp_path / "x", "routing")
    assert channel_address(tmp_path, "routing") != channel_address(tmp_path, "reporting")
    assert channel_address(tmp_path, "routing").startswith("\0")
