"""Transactional outbox relay.

Events are written to the event store in the same transaction as the state change; the
store is the outbox. The relay publishes what follows its saved position to a broker and
then saves the new position: at least once, in log order (so in order per stream). The
embedded bus needs no relay: its subscribers read the store itself.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from shared.events import EventEnvelope
from shared.eventstore import read_log
from shared.tables import RelayPosition
from shared.waiting import wait_for_wakeup


class Publisher(Protocol):
    async def publish(self, topic: str, envelopes: Sequence[EventEnvelope]) -> None:
        """Publish in the given order; return only when the broker has them all."""


@dataclass
class InMemoryPublisher:
    sent: list[tuple[str, EventEnvelope]] = field(default_factory=list)

    async def publish(self, topic: str, envelopes: Sequence[EventEnvelope]) -> None:
        self.sent.extend((topic, e) for e in envelopes)


class OutboxRelay:
    def __init__(
        self,
        topic: str,
        sessions: async_sessionmaker[AsyncSession],
        publisher: Publisher,
        batch_size: int = 500,
    ) -> None:
        self.topic = topic
        self.sessions = sessions
        self.publisher = publisher
        self.batch_size = batch_size
        self.wakeup = asyncio.Event()
        self.stopping = False

    async def backlog(self) -> int:
        async with self.sessions() as session:
            position = await self._position(session)
            return len(await read_log(session, position.position, 10_000))

    async def relay_once(self) -> int:
        """Publish one batch; return how many events it held."""
        async with self.sessions() as session:
            position = await self._position(session)
            batch = await read_log(session, position.position, self.batch_size)
            if not batch:
                return 0
            await self.publisher.publish(self.topic, [item.envelope for item in batch])
            position.position = batch[-1].position
            session.add(position)
            await session.commit()
            return len(batch)

    async def _position(self, session: AsyncSession) -> RelayPosition:
        row = await session.get(RelayPosition, self.topic)
        return row or RelayPosition(topic=self.topic, position=0)

    def stop_soon(self) -> None:
        """Publish no further batch: ``run`` returns after the one in hand."""
        self.stopping = True
        self.wakeup.set()

    async def run(self, idle_poll_seconds: float = 0.5) -> None:
        while not self.stopping:
            self.wakeup.clear()
            if await self.relay_once() == 0:
                await wait_for_wakeup(self.wakeup, idle_poll_seconds)
