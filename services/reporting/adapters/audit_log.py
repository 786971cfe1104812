"""The ``audit_log`` table: its port and adapters (SQL, in-memory), the supervisors'
reader, and the bulk helpers the replay and start-up use.

Not a BI table: it names people (the actors), so it is neither exported nor granted to
the BI role (``bi_role``). ``event_id`` is unique: an event that arrives again (a
redelivery, a replay after a crash) is audited once.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from pydantic import ValidationError
from sqlalchemy import Column, DateTime, Index, Text, delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlmodel import Field, SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from services.reporting.adapters.event_log import AuditedRow
from services.reporting.domain.audit import AuditEntry, audit_entry
from services.reporting.domain.model import as_utc
from shared.events import EventEnvelope
from shared.tables import StoredEvent


class AuditRecord(SQLModel, table=True):
    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_newest", "occurred_at", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    event_id: str = Field(unique=True, max_length=36)
    occurred_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    action: str = Field(index=True, max_length=10)
    actor: str = Field(index=True, max_length=200)
    subject: str = Field(max_length=200)
    details: str = Field(sa_column=Column(Text, nullable=False))  # JSON, no personal data


AUDIT_TABLE = AuditRecord.__table__


def _row(entry: AuditEntry) -> dict[str, Any]:
    return {
        "event_id": entry.event_id, "occurred_at": entry.occurred_at, "action": entry.action,
        "actor": entry.actor, "subject": entry.subject,
        "details": json.dumps(entry.details, ensure_ascii=False, sort_keys=True),
    }


def _insert_new(dialect: str, rows: list[dict[str, Any]]):
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    return insert(AUDIT_TABLE).values(rows).on_conflict_do_nothing(index_elements=["event_id"])


class AuditLog(Protocol):
    async def add(self, entry: AuditEntry) -> None:
        """Stage the entry in the unit of work's transaction, unless its event is
        audited already."""


class SqlAuditLog:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, entry: AuditEntry) -> None:
        await self.session.exec(_insert_new(self.session.bind.dialect.name, [_row(entry)]))


class InMemoryAuditLog:
    """Stages entries; ``flush`` commits them to ``store`` (keyed by event id)."""

    def __init__(self, store: dict[str, AuditEntry]) -> None:
        self.store = store
        self.staged: dict[str, AuditEntry] = {}

    async def add(self, entry: AuditEntry) -> None:
        if entry.event_id not in self.store:
            self.staged.setdefault(entry.event_id, entry)

    def flush(self) -> None:
        for event_id, entry in self.staged.items():
            self.store.setdefault(event_id, entry)
        self.staged.clear()

    def discard(self) -> None:
        self.staged.clear()


# -- the supervisors' reader ----------------------------------------------------------
@dataclass(frozen=True)
class AuditQuery:
    action: str | None = None
    actor: str | None = None
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive
    limit: int = 100
    offset: int = 0


async def read_audit(engine: AsyncEngine, q: AuditQuery) -> tuple[int, list[dict[str, Any]]]:
    """How many entries match, and the page asked for, newest first."""
    t, conditions = AUDIT_TABLE.c, []
    if q.action:
        conditions.append(t.action == q.action)
    if q.actor:
        conditions.append(t.actor == q.actor)
    # In UTC (naive is taken as UTC): SQLite compares the stored UTC text.
    if q.since:
        conditions.append(t.occurred_at >= as_utc(q.since))
    if q.until:
        conditions.append(t.occurred_at < as_utc(q.until))
    page = (
        select(AUDIT_TABLE).where(*conditions)
        .order_by(t.occurred_at.desc(), t.id.desc()).limit(q.limit).offset(q.offset)
    )
    count = select(func.count()).select_from(AUDIT_TABLE).where(*conditions)
    async with engine.connect() as conn:
        total = (await conn.execute(count)).scalar_one()
        rows = (await conn.execute(page)).mappings().all()
    return total, [
        {**row, "occurred_at": as_utc(row["occurred_at"]), "details": json.loads(row["details"])}
        for row in rows
    ]


# -- rebuilding: the replay and start-up ------------------------------------------------
def entries_of(rows: Iterable[AuditedRow]) -> list[AuditEntry]:
    """Entries of stored events (validated and upcast like the live consumer does); a
    payload its class refuses is skipped, as the consumer would dead-letter it."""
    out = []
    for event_id, event_type, version, text in rows:
        envelope = EventEnvelope(
            event_id=uuid.UUID(int=0), event_type=event_type, schema_version=version,
            stream_id="-", stream_version=1, correlation_id=uuid.UUID(int=0), producer="-",
            payload=json.loads(text),
        )
        try:
            event = envelope.event()
        except (ValidationError, KeyError, ValueError):
            continue
        if event is not None and (entry := audit_entry(event_type, event_id, event.model_dump(mode="json"))):
            out.append(entry)
    return out


async def insert_entries(conn: AsyncConnection, entries: list[AuditEntry]) -> None:
    for start in range(0, len(entries), 1_000):
        chunk = [_row(e) for e in entries[start : start + 1_000]]
        await conn.execute(_insert_new(conn.dialect.name, chunk))


async def clear_audit(conn: AsyncConnection) -> None:
    await conn.execute(delete(AUDIT_TABLE))


async def own_events(conn: AsyncConnection, event_types: Iterable[str], missing_only: bool) -> list[AuditedRow]:
    """Reporting's own audited events (exports) from its event store; with
    ``missing_only``, those without an audit entry yet."""
    e = StoredEvent.__table__.c
    query = select(e.event_id, e.event_type, e.schema_version, e.payload).where(
        e.event_type.in_(list(event_types))
    )
    if missing_only:
        audited = select(AUDIT_TABLE.c.id).where(AUDIT_TABLE.c.event_id == e.event_id)
        query = query.where(~audited.exists())
    rows = await conn.execute(query.order_by(e.position))
    return [tuple(r) for r in rows]  # type: ignore[misc]


async def restore_own_entries(engine: AsyncEngine, event_types: Iterable[str]) -> int:
    """Audit what reporting recorded itself but the table lacks (after a rebuild of the
    store): the other services' events come back through the consumer or the replay."""
    async with engine.begin() as conn:
        entries = entries_of(await own_events(conn, event_types, missing_only=True))
        await insert_entries(conn, entries)
    return len(entries)
