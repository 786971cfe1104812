"""Event store port and its SQL and in-memory recorders.

The SQL recorder's table is also the service's notification log: ``position`` orders every
event the service ever recorded, and readers (the embedded bus, the outbox relay, replay)
page through it with ``read_log``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any, Protocol

from sqlalchemy import insert, select, text
from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from shared import tracing
from shared.errors import ConcurrencyError
from shared.events import EventEnvelope
from shared.tables import StoredEvent


class EventStore(Protocol):
    """Append-only store of envelopes, grouped in streams."""

    async def load(self, stream_id: str) -> list[EventEnvelope]:
        """All envelopes of one stream, in version order."""

    async def load_many(self, stream_ids: Sequence[str]) -> dict[str, list[EventEnvelope]]:
        """The envelopes of several streams (one query), by stream id; a stream with no
        events is left out."""

    def append(self, envelopes: Sequence[EventEnvelope]) -> None:
        """Stage envelopes; they are written when the unit of work commits."""

    async def flush(self) -> None:
        """Write what is staged (in the unit of work's transaction); a stream version
        taken already raises ``ConcurrencyError``."""


@dataclass(frozen=True)
class LoggedEvent:
    position: int
    envelope: EventEnvelope


def to_row(envelope: EventEnvelope) -> StoredEvent:
    return StoredEvent(**to_values(envelope))


def to_values(envelope: EventEnvelope) -> dict[str, Any]:
    """The columns of an envelope's row (``position`` is the store's to give)."""
    return {
        "event_id": str(envelope.event_id),
        "event_type": envelope.event_type,
        "schema_version": envelope.schema_version,
        "stream_id": envelope.stream_id,
        "stream_version": envelope.stream_version,
        "occurred_at": envelope.occurred_at,
        "correlation_id": str(envelope.correlation_id),
        "causation_id": str(envelope.causation_id) if envelope.causation_id else None,
        "producer": envelope.producer,
        "payload": json.dumps(envelope.payload, ensure_ascii=False, separators=(",", ":")),
        "trace": json.dumps(envelope.trace) if envelope.trace else None,
    }


_INSERT = insert(StoredEvent.__table__)  # type: ignore[arg-type]


def from_row(row: Any) -> EventEnvelope:
    """An envelope from a stored row (a ``StoredEvent`` or a Core row of its table). The
    row was validated when it was written: the envelope is built without validating again."""
    occurred_at = row.occurred_at
    return EventEnvelope.model_construct(
        event_id=uuid.UUID(row.event_id),
        event_type=row.event_type,
        schema_version=row.schema_version,
        stream_id=row.stream_id,
        stream_version=row.stream_version,
        # SQLite keeps no zone: the stored moment is UTC (PostgreSQL returns it aware).
        occurred_at=occurred_at if occurred_at.tzinfo else occurred_at.replace(tzinfo=UTC),
        correlation_id=uuid.UUID(row.correlation_id),
        causation_id=uuid.UUID(row.causation_id) if row.causation_id else None,
        producer=row.producer,
        payload=json.loads(row.payload),
        trace=json.loads(row.trace) if row.trace else None,
    )


# Reads select the table's columns (Core rows), not ``StoredEvent`` objects: an event read
# is never changed, so the ORM's identity map and instance state would be pure cost.
_EVENTS = StoredEvent.__table__.c  # type: ignore[attr-defined]
_SELECT = select(StoredEvent.__table__)  # type: ignore[arg-type]


class SqlEventStore:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.staged: list[EventEnvelope] = []

    async def load(self, stream_id: str) -> list[EventEnvelope]:
        rows = await self.session.exec(
            _SELECT.where(_EVENTS.stream_id == stream_id).order_by(_EVENTS.stream_version)
        )
        staged = [e for e in self.staged if e.stream_id == stream_id]
        return [from_row(row) for row in rows] + staged

    async def load_many(self, stream_ids: Sequence[str]) -> dict[str, list[EventEnvelope]]:
        streams: dict[str, list[EventEnvelope]] = {}
        wanted = set(stream_ids)
        if wanted:
            rows = await self.session.exec(
                _SELECT.where(_EVENTS.stream_id.in_(sorted(wanted)))
                .order_by(_EVENTS.stream_id, _EVENTS.stream_version)
            )
            for row in rows:
                streams.setdefault(row.stream_id, []).append(from_row(row))
        for envelope in self.staged:
            if envelope.stream_id in wanted:
                streams.setdefault(envelope.stream_id, []).append(envelope)
        return streams

    def append(self, envelopes: Sequence[EventEnvelope]) -> None:
        """Staged in the span that made them (a request, a consumer's event): their trace
        is that span's, so whoever handles them later continues the same trace."""
        if trace := tracing.current_trace():
            envelopes = [e.model_copy(update={"trace": trace}) for e in envelopes]
        self.staged.extend(envelopes)

    async def flush(self) -> None:
        """Write staged envelopes: one Core INSERT for the batch (no ORM unit of work,
        identity map or per-row flush: the rows are never read back as objects here).

        On PostgreSQL the table is locked first, so positions become visible in commit
        order (a reader never sees 7 before 6 commits): two transactions could otherwise
        take 6 and 7 from the sequence and commit 7 first, and a reader that read up to 7
        would never see 6. The ``eventsourcing`` library's PostgreSQL recorder does the
        same. SQLite serialises writers by itself (one connection per file, shared.db)."""
        if not self.staged:
            return
        bind = self.session.bind
        if bind.dialect.name == "postgresql":
            schema = bind.get_execution_options().get("schema_translate_map", {}).get(None)
            table = f'"{schema}".event_store' if schema else "event_store"
            await self.session.exec(text(f"LOCK TABLE {table} IN EXCLUSIVE MODE"))
        rows = [to_values(envelope) for envelope in self.staged]
        try:
            await self.session.exec(_INSERT, params=rows)
        except IntegrityError as error:
            raise ConcurrencyError(
                "a stream was changed by another writer", details=str(error.orig)
            ) from error
        self.staged.clear()  # written: a second flush in this transaction adds nothing


async def read_log(session: AsyncSession, after: int, limit: int) -> list[LoggedEvent]:
    rows = await session.exec(
        _SELECT.where(_EVENTS.position > after).order_by(_EVENTS.position).limit(limit)
    )
    return [LoggedEvent(row.position, from_row(row)) for row in rows]


@dataclass
class InMemoryEventStore:
    """Fake for unit tests: same behaviour, including the concurrency check."""

    log: list[EventEnvelope] = field(default_factory=list)
    staged: list[EventEnvelope] = field(default_factory=list)

    async def load(self, stream_id: str) -> list[EventEnvelope]:
        return [e for e in self.log if e.stream_id == stream_id]

    async def load_many(self, stream_ids: Sequence[str]) -> dict[str, list[EventEnvelope]]:
        wanted = set(stream_ids)
        streams: dict[str, list[EventEnvelope]] = {}
        for envelope in self.log:
            if envelope.stream_id in wanted:
                streams.setdefault(envelope.stream_id, []).append(envelope)
        return streams

    def append(self, envelopes: Sequence[EventEnvelope]) -> None:
        self.staged.extend(envelopes)

    async def flush(self) -> None:
        taken = {(e.stream_id, e.stream_version) for e in self.log}
        for envelope in self.staged:
            key = (envelope.stream_id, envelope.stream_version)
            if key in taken:
                self.staged.clear()
                raise ConcurrencyError("a stream was changed by another writer", details=key)
            taken.add(key)
        self.log.extend(self.staged)
        self.staged.clear()

    def of_type(self, event_type: str) -> list[EventEnvelope]:
        return [e for e in self.log if e.event_type == event_type]
