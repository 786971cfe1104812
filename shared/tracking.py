"""Inbox and subscriber positions: how consumers stay idempotent and resume after restart
(the ``eventsourcing`` library's tracking records)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy import insert, select
from sqlmodel.ext.asyncio.session import AsyncSession

from shared.events import EventEnvelope, utc_now
from shared.tables import ConsumerDeadLetter, InboxEntry, SubscriberPosition


@dataclass(frozen=True)
class Checkpoint:
    """Where an event sits in its topic: the embedded bus has one partition per topic and
    uses the producer's log position; Kafka uses its own partition and offset."""

    topic: str
    partition: int
    position: int


class Tracking(Protocol):
    async def seen(self, consumer: str, event_id: str) -> bool: ...
    async def seen_many(self, consumer: str, event_ids: list[str]) -> set[str]: ...
    def mark_handled(self, consumer: str, event_id: str) -> None: ...
    async def save_position(self, consumer: str, checkpoint: Checkpoint) -> None: ...
    async def positions(self, consumer: str) -> dict[tuple[str, int], int]: ...
    def dead_letter(
        self, consumer: str, checkpoint: Checkpoint, envelope: EventEnvelope, error: str
    ) -> None: ...


class SqlTracking:
    """The inbox rows of a unit of work are written with one multi-row INSERT when it
    commits (``flush``): an ORM object per handled event cost more CPU than reporting's
    whole projection of it (bench/reporting_apply.py, issue #13)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self._handled: list[dict] = []

    async def seen(self, consumer: str, event_id: str) -> bool:
        return await self.session.get(InboxEntry, (consumer, event_id)) is not None

    async def seen_many(self, consumer: str, event_ids: list[str]) -> set[str]:
        rows = await self.session.exec(
            select(InboxEntry.event_id).where(
                InboxEntry.consumer == consumer, InboxEntry.event_id.in_(event_ids)
            )
        )
        return set(rows.scalars())

    def mark_handled(self, consumer: str, event_id: str) -> None:
        self._handled.append({"consumer": consumer, "event_id": event_id, "handled_at": utc_now()})

    async def flush(self) -> None:
        """Write the staged inbox rows (called by the unit of work before its commit)."""
        if self._handled:
            rows, self._handled = self._handled, []
            await self.session.execute(insert(InboxEntry.__table__), rows)

    async def save_position(self, consumer: str, checkpoint: Checkpoint) -> None:
        key = (consumer, checkpoint.topic, checkpoint.partition)
        row = await self.session.get(SubscriberPosition, key)
        if row is None:
            row = SubscriberPosition(
                subscriber=consumer,
                topic=checkpoint.topic,
                partition=checkpoint.partition,
                position=checkpoint.position,
            )
        row.position = max(row.position, checkpoint.position)
        self.session.add(row)

    async def positions(self, consumer: str) -> dict[tuple[str, int], int]:
        rows = await self.session.exec(
            select(SubscriberPosition).where(SubscriberPosition.subscriber == consumer)
        )
        return {(r.topic, r.partition): r.position for r in rows.scalars()}

    def dead_letter(
        self, consumer: str, checkpoint: Checkpoint, envelope: EventEnvelope, error: str
    ) -> None:
        self.session.add(
            ConsumerDeadLetter(
                subscriber=consumer,
                topic=checkpoint.topic,
                partition=checkpoint.partition,
                position=checkpoint.position,
                event_id=str(envelope.event_id),
                event_type=envelope.event_type,
                error=error[:2000],
                failed_at=utc_now(),
            )
        )


@dataclass
class InMemoryTracking:
    handled: set[tuple[str, str]] = field(default_factory=set)
    saved_positions: dict[tuple[str, str, int], int] = field(default_factory=dict)
    dead_letters: list[tuple[str, str, str]] = field(default_factory=list)
    _staged: list = field(default_factory=list)

    async def seen(self, consumer: str, event_id: str) -> bool:
        return (consumer, event_id) in self.handled

    async def seen_many(self, consumer: str, event_ids: list[str]) -> set[str]:
        return {e for e in event_ids if (consumer, e) in self.handled}

    def mark_handled(self, consumer: str, event_id: str) -> None:
        self._staged.append(("handled", (consumer, event_id)))

    async def save_position(self, consumer: str, checkpoint: Checkpoint) -> None:
        key = (consumer, checkpoint.topic, checkpoint.partition)
        self._staged.append(("position", (key, checkpoint.position)))

    async def positions(self, consumer: str) -> dict[tuple[str, int], int]:
        return {(t, p): pos for (c, t, p), pos in self.saved_positions.items() if c == consumer}

    def dead_letter(
        self, consumer: str, checkpoint: Checkpoint, envelope: EventEnvelope, error: str
    ) -> None:
        self._staged.append(("dead", (consumer, str(envelope.event_id), error)))

    def flush(self) -> None:
        for kind, value in self._staged:
            if kind == "handled":
                self.handled.add(value)
            elif kind == "position":
                key, position = value
                self.saved_positions[key] = max(self.saved_positions.get(key, 0), position)
            else:
                self.dead_letters.append(value)
        self._staged.clear()

    def discard(self) -> None:
        self._staged.clear()
