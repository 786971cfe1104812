"""Unit of work: one database transaction holding the state change, the new events (the
outbox), and for consumers the inbox row and subscriber position. Rollback by default."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Self

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from shared.aggregate import Aggregate
from shared.events import DomainEvent, EventEnvelope
from shared.eventstore import EventStore, InMemoryEventStore, SqlEventStore
from shared.tracking import InMemoryTracking, SqlTracking, Tracking


class UnitOfWork:
    """Base: the API every service's unit of work offers to handlers."""

    events: EventStore  # the port; SqlEventStore or InMemoryEventStore
    tracking: Tracking  # the port; SqlTracking or InMemoryTracking

    def __init__(self, on_commit: Sequence[Callable[[], Any]] = ()) -> None:
        self.on_commit = list(on_commit)  # for every commit (e.g. wake the bus)
        self.new_events: list[EventEnvelope] = []
        self._after: list[Callable[[], Any]] = []

    async def __aenter__(self) -> Self:
        self.new_events = []
        self._after = []
        return self

    def after_commit(self, hook: Callable[[], Any]) -> None:
        """Run ``hook`` once, after this transaction commits (never after a rollback)."""
        self._after.append(hook)

    async def __aexit__(self, *exc_info: object) -> None:
        await self.rollback()

    def save(self, aggregate: Aggregate, cause: EventEnvelope | None = None) -> list[EventEnvelope]:
        """Stage the aggregate's pending events as envelopes of its stream."""
        first = aggregate.version - len(aggregate.pending) + 1
        envelopes = [
            self._wrap(event, aggregate.id, first + i, cause)
            for i, event in enumerate(aggregate.pending)
        ]
        aggregate.pending.clear()
        self.events.append(envelopes)
        self.new_events.extend(envelopes)
        return envelopes

    def _wrap(
        self, event: DomainEvent, stream_id: str, version: int, cause: EventEnvelope | None
    ) -> EventEnvelope:
        return EventEnvelope.wrap(
            event,
            stream_id=stream_id,
            stream_version=version,
            correlation_id=cause.correlation_id if cause else None,
            causation_id=cause.event_id if cause else None,
        )

    async def commit(self) -> None:
        await self._commit()
        hooks, self._after = [*self.on_commit, *self._after], []
        for hook in hooks:
            hook()

    async def _commit(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    async def rollback(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError


class SqlUnitOfWork(UnitOfWork):
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], on_commit: Sequence[Callable] = ()
    ) -> None:
        super().__init__(on_commit)
        self.sessions = sessions
        self.session: AsyncSession | None = None

    async def __aenter__(self) -> Self:
        await super().__aenter__()
        self.session = self.sessions()
        self.events = SqlEventStore(self.session)
        self.tracking = SqlTracking(self.session)
        self.open_repositories(self.session)
        return self

    def open_repositories(self, session: AsyncSession) -> None:
        """Services attach their own repositories here."""

    async def __aexit__(self, *exc_info: object) -> None:
        assert self.session is not None
        try:
            # Detach what was loaded first, so read models stay usable after the block
            # (a rollback would expire them).
            self.session.expunge_all()
            await self.session.rollback()
        finally:
            await self.session.close()

    async def _commit(self) -> None:
        assert self.session is not None
        await self.events.flush()
        await self.tracking.flush()
        await self.session.commit()

    async def rollback(self) -> None:
        assert self.session is not None
        await self.session.rollback()


@dataclass
class InMemoryState:
    """What survives between in-memory units of work: the fakes' 'database'."""

    events: InMemoryEventStore
    tracking: InMemoryTracking


class InMemoryUnitOfWork(UnitOfWork):
    """Fake for unit tests. Records ``commits`` so tests can assert on them."""

    events: InMemoryEventStore
    tracking: InMemoryTracking

    def __init__(self, state: InMemoryState | None = None) -> None:
        super().__init__()
        self.state = state or InMemoryState(InMemoryEventStore(), InMemoryTracking())
        self.events = self.state.events
        self.tracking = self.state.tracking
        self.commits = 0

    async def _commit(self) -> None:
        await self.events.flush()
        self.tracking.flush()
        self.commits += 1

    async def rollback(self) -> None:
        self.events.staged.clear()
        self.tracking.discard()


def new_id() -> str:
    return str(uuid.uuid4())
