"""The embedded bus across processes (``servicekontor up`` with one process per service).

Each topic is still the producing service's own event store, read in position order, and
each subscriber still keeps its position in its own database (``EventConsumer``): only
the reader changes. A consumer in another process reads the producer's store through a
read-only connection of its own (``ForeignLog``), the way the in-process bus reads it
through the producer's engine; SQLite's WAL lets it read while the producer writes.

Wake-ups cost nothing while idle: every process listens on one datagram socket of its
own (Linux: an abstract Unix socket, no file; elsewhere a socket file in the temporary
directory), named after the data dir and the service. A producer's commit hook sends the
topic's name to its peers' sockets; a reader that gets it reads at once. A datagram that
cannot be sent (a peer not running, its buffer full) is dropped: the peer reads the log
when it starts, and a slow poll (``idle_poll_seconds``) is the fallback.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import socket
import sys
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

import structlog
from sqlalchemy import exc
from sqlalchemy.ext.asyncio import create_async_engine

from shared.bus import EmbeddedBus
from shared.db import is_sqlite, session_maker
from shared.eventstore import LoggedEvent, read_log

log = structlog.get_logger(__name__)

IDLE_POLL_SECONDS = 2.0  # the fallback; a wake-up datagram is the rule


def channel_address(data_dir: Path, service: str) -> str:
    """The datagram address ``service`` of the system on ``data_dir`` listens on."""
    digest = hashlib.sha256(str(Path(data_dir).resolve()).encode()).hexdigest()[:16]
    if sys.platform == "linux":
        return f"\0servicekontor-{digest}-{service}"
    return str(Path(tempfile.gettempdir()) / f"sk-{digest}-{service}.sock")


class ForeignLog:
    """Another service's event store, read only: the topic it produces, read in log order.

    A store not made yet (its service has not started, or not created its tables) reads
    as an empty log; the bus asks again at the next wake-up or poll."""

    def __init__(self, url: str, schema: str | None = None) -> None:
        if is_sqlite(url):
            path = url.split("///", 1)[1]
            self.engine = create_async_engine(
                f"sqlite+aiosqlite:///file:{path}?mode=ro&uri=true",
                pool_size=1, max_overflow=0, connect_args={"timeout": 60},
            )
        else:
            engine = create_async_engine(url, pool_size=2, max_overflow=0)
            self.engine = engine.execution_options(schema_translate_map={None: schema}) if schema else engine
        self.sessions = session_maker(self.engine)  # ``metrics.log_head`` reads the head here

    async def read_log(self, after: int, limit: int) -> list[LoggedEvent]:
        try:
            async with self.sessions() as session:
                return await read_log(session, after, limit)
        except exc.OperationalError as error:
            message = str(error.orig)
            if "no such table" in message or "unable to open database file" in message:
                return []
            raise

    async def close(self) -> None:
        await self.engine.dispose()


class Wakeups:
    """One datagram socket this process listens on; sends to its peers' sockets."""

    def __init__(self, own: str, peers: Iterable[str]) -> None:
        self.own = own
        self.peers = [peer for peer in peers if peer != own]
        self._sender = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sender.setblocking(False)
        self._listener: socket.socket | None = None

    def send(self, topic: str) -> None:
        message = topic.encode()
        for peer in self.peers:
            with contextlib.suppress(OSError):  # not running (refused), or busy (already woken)
                self._sender.sendto(message, peer)

    def listen(self, loop: asyncio.AbstractEventLoop, wake: Callable[[str], None]) -> bool:
        """Call ``wake(topic)`` for each datagram received; False if the address is taken."""
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        listener.setblocking(False)
        if not self.own.startswith("\0"):
            with contextlib.suppress(FileNotFoundError):
                Path(self.own).unlink()
        try:
            listener.bind(self.own)
        except OSError as error:
            listener.close()
            log.warning("bus_wakeups_unavailable", error=error.strerror, poll_seconds=IDLE_POLL_SECONDS)
            return False
        self._listener = listener
        loop.add_reader(listener.fileno(), self._receive, wake)
        return True

    def _receive(self, wake: Callable[[str], None]) -> None:
        assert self._listener is not None
        topics = set()
        while True:
            try:
                topics.add(self._listener.recv(512).decode(errors="replace"))
            except (BlockingIOError, InterruptedError):
                break
        for topic in topics:
            wake(topic)

    def close(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        if self._listener is not None:
            if loop is not None:
                loop.remove_reader(self._listener.fileno())
            self._listener.close()
            self._listener = None
            if not self.own.startswith("\0"):
                with contextlib.suppress(FileNotFoundError):
                    Path(self.own).unlink()
        self._sender.close()


class FileBus(EmbeddedBus):
    """``EmbeddedBus`` for one service's process: its own topic read from its own store,
    other services' topics from their stores (``register_file``), woken by datagrams."""

    def __init__(self, wakeups: Wakeups, batch_size: int = 200, idle_poll_seconds: float = IDLE_POLL_SECONDS) -> None:
        super().__init__(batch_size=batch_size, idle_poll_seconds=idle_poll_seconds)
        self.wakeups = wakeups
        self.foreign: dict[str, ForeignLog] = {}

    def register_file(self, topic: str, url: str, schema: str | None = None) -> None:
        """``topic`` is produced by another process into the store at ``url``."""
        if topic not in self.readers:
            self.foreign[topic] = ForeignLog(url, schema)
            self.register_log(topic, self.foreign[topic].read_log)

    def notifier(self, topic: str) -> Callable[[], None]:
        def notify() -> None:
            self.notify(topic)
            self.wakeups.send(topic)

        return notify

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        self.wakeups.listen(loop, self.notify)
        try:
            await super().run()
        finally:
            self.wakeups.close(loop)
            for reader in self.foreign.values():
                await reader.close()
