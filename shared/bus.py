"""The bus port and its embedded implementation.

Embedded: one process, no broker. Each topic is a producer service's own event store,
read in position order; a subscriber's position lives in its own database (see
``EventConsumer``), so a restarted process resumes exactly where it stopped. Producers
wake readers after each commit; a short idle poll is only a fallback.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Protocol

import structlog

from shared.consumer import EventConsumer
from shared.eventstore import LoggedEvent
from shared.tracking import Checkpoint
from shared.waiting import wait_for_wakeup

log = structlog.get_logger(__name__)

LogReader = Callable[[int, int], Awaitable[list[LoggedEvent]]]


class Bus(Protocol):
    """What bootstraps and runners use; ``EmbeddedBus`` and ``KafkaBus`` implement it."""

    def register_producer(self, topic: str, runtime) -> None:
        """The runtime's event store is the source (outbox) of ``topic``."""

    def notifier(self, topic: str) -> Callable[[], None]:
        """A hook the producer's unit of work calls after each commit."""

    def subscribe(self, consumer: EventConsumer) -> None:
        """Deliver every event of the consumer's topics to it, in order per key."""

    async def run(self) -> None:
        """Deliver until cancelled, or until ``stop_soon`` and the batches in hand are done."""

    def stop_soon(self) -> None:
        """Finish the batches being handled, start no new one, and return from ``run``."""


class EmbeddedBus:
    def __init__(self, batch_size: int = 200, idle_poll_seconds: float = 1.0) -> None:
        self.batch_size = batch_size
        self.idle_poll_seconds = idle_poll_seconds
        self.readers: dict[str, LogReader] = {}
        self.consumers: list[EventConsumer] = []
        self._wakeups: dict[str, asyncio.Event] = {}
        self.positions: dict[tuple[str, str], int] = {}
        self._stopping = False

    def register_log(self, topic: str, reader: LogReader) -> None:
        self.readers[topic] = reader

    def register_producer(self, topic: str, runtime) -> None:
        """The topic is the producing service's own event store, read in log order."""
        self.register_log(topic, runtime.read_log)

    def notifier(self, topic: str) -> Callable[[], None]:
        """A hook for the producer's unit of work: call after each commit."""
        return lambda: self.notify(topic)

    def notify(self, topic: str) -> None:
        event = self._wakeups.pop(topic, None)
        if event is not None:
            event.set()

    def subscribe(self, consumer: EventConsumer) -> None:
        missing = [t for t in consumer.topics if t not in self.readers]
        if missing:
            raise ValueError(f"no producer registered for topics {missing}")
        self.consumers.append(consumer)

    def stop_soon(self) -> None:
        """Each follower ends after the batch it is handling (committed, not rolled back)."""
        self._stopping = True
        for event in self._wakeups.values():
            event.set()

    async def run(self) -> None:
        async with asyncio.TaskGroup() as group:
            for consumer in self.consumers:
                for topic in consumer.topics:
                    group.create_task(self._follow(consumer, topic))

    async def _follow(self, consumer: EventConsumer, topic: str) -> None:
        reader = self.readers[topic]
        position = (await consumer.positions()).get((topic, 0), 0)
        while not self._stopping:
            wakeup = self._wakeups.setdefault(topic, asyncio.Event())
            batch = await reader(position, self.batch_size)
            if batch:
                await consumer.handle_batch(
                    [(item.envelope, Checkpoint(topic, 0, item.position)) for item in batch]
                )
                position = batch[-1].position
                self.positions[(consumer.name, topic)] = position
            if not batch:
                await wait_for_wakeup(wakeup, self.idle_poll_seconds)
