"""Reading the producers' event logs for a replay: their ``event_store`` tables in
``position`` order (the notification log ``shared.eventstore.read_log`` pages through).

SQLite files (the embedded default) are read with the standard library's ``sqlite3``, read
only, in one statement: one consistent snapshot, fast. Any other database (PostgreSQL,
each service in its own schema) is paged through with SQLAlchemy.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from sqlalchemy import bindparam, text

from shared.db import create_engine, is_sqlite

# position, event_type, schema_version, payload (JSON text)
RawRow = tuple[int, str, int, str]
_COLUMNS = "position, event_type, schema_version, payload"
# event_id, event_type, schema_version, payload (JSON text): for the audit log
AuditedRow = tuple[str, str, int, str]
_AUDITED = "SELECT event_id, event_type, schema_version, payload FROM {table} WHERE event_type IN ({types})"


class EventLog(Protocol):
    topic: str

    async def count(self) -> int:
        """How many events the log holds now (for the progress bar)."""

    def batches(self, size: int) -> AsyncIterator[list[RawRow]]:
        """Every event, in position order, in batches."""

    def audited(self, event_types: Collection[str]) -> AsyncIterator[list[AuditedRow]]:
        """The (few) events of these types, with their ids, in position order."""

    def ends(self) -> dict[tuple[str, int], int]:
        """After ``batches``: (topic, partition) → the position the live consumer resumes
        from (a database log: its last position read; a topic: the next offset)."""


@dataclass
class SqliteEventLog:
    path: Path
    topic: str
    read_to: int = 0

    def ends(self) -> dict[tuple[str, int], int]:
        return {(self.topic, 0): self.read_to}

    def _connect(self):
        import sqlite3

        return sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=60)

    async def count(self) -> int:
        if not self.path.exists():
            return 0
        with self._connect() as db:
            return db.execute("SELECT COUNT(*) FROM event_store").fetchone()[0]

    async def batches(self, size: int = 20_000) -> AsyncIterator[list[RawRow]]:
        if not self.path.exists():
            return
        db = self._connect()
        try:
            cursor = db.execute(f"SELECT {_COLUMNS} FROM event_store ORDER BY position")
            while rows := cursor.fetchmany(size):
                self.read_to = rows[-1][0]
                yield rows
        finally:
            db.close()

    async def audited(self, event_types: Collection[str], size: int = 5_000) -> AsyncIterator[list[AuditedRow]]:
        if not self.path.exists() or not event_types:
            return
        db = self._connect()
        try:
            types = list(event_types)
            query = _AUDITED.format(table="event_store", types=", ".join("?" * len(types)))
            cursor = db.execute(query + " ORDER BY position", types)
            while rows := cursor.fetchmany(size):
                yield rows
        finally:
            db.close()


@dataclass
class SqlEventLog:
    url: str
    schema: str
    topic: str
    read_to: int = 0

    def ends(self) -> dict[tuple[str, int], int]:
        return {(self.topic, 0): self.read_to}

    async def count(self) -> int:
        engine = create_engine(self.url, schema=self.schema)
        try:
            async with engine.connect() as conn:
                return (await conn.execute(text(f"SELECT COUNT(*) FROM {self._table}"))).scalar_one()
        finally:
            await engine.dispose()

    @property
    def _table(self) -> str:
        return f'"{self.schema}".event_store'

    async def batches(self, size: int = 20_000) -> AsyncIterator[list[RawRow]]:
        engine = create_engine(self.url, schema=self.schema)
        query = text(
            f"SELECT {_COLUMNS} FROM {self._table} WHERE position > :after "
            "ORDER BY position LIMIT :size"
        )
        after = 0
        try:
            while True:
                async with engine.connect() as conn:
                    rows = [tuple(r) for r in (await conn.execute(query, {"after": after, "size": size}))]
                if not rows:
                    return
                after = self.read_to = rows[-1][0]
                yield rows  # type: ignore[misc]
        finally:
            await engine.dispose()

    async def audited(self, event_types: Collection[str]) -> AsyncIterator[list[AuditedRow]]:
        if not event_types:
            return
        engine = create_engine(self.url, schema=self.schema)
        # An expanding parameter brings its own parentheses: "IN (:types)" would compare
        # event_type with one row of all the types (PostgreSQL refuses: varchar = record).
        query = text(
            f"SELECT event_id, event_type, schema_version, payload FROM {self._table} "
            "WHERE event_type IN :types ORDER BY position"
        ).bindparams(bindparam("types", expanding=True))
        try:
            async with engine.connect() as conn:
                rows = [tuple(r) for r in await conn.execute(query, {"types": list(event_types)})]
            if rows:
                yield rows  # type: ignore[misc]
        finally:
            await engine.dispose()


def event_log(url: str, schema: str, topic: str) -> EventLog:
    """The log of one producing service, from its database URL."""
    if is_sqlite(url):
        return SqliteEventLog(Path(url.split("///", 1)[-1]), topic)
    return SqlEventLog(url, schema, topic)
