"""Database engines. SQLite on the embedded default; PostgreSQL is a change of URL only."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from sqlalchemy import Table, event, exc, inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from shared import tracing


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


def create_engine(url: str, schema: str | None = None) -> AsyncEngine:
    """One engine per service database.

    SQLite gets a single pooled connection: every access of the process to one file goes
    through it in turn, so writers never meet ``database is locked``; WAL keeps committed
    transactions on disk when the process is killed. On PostgreSQL each service's tables
    live in its own schema (``schema_translate_map``). With tracing on, the engine's
    statements are spans of the service the schema is named after.
    """
    engine = _create_engine(url, schema)
    if schema:
        tracing.instrument_engine(engine, schema)
    return engine


def _create_engine(url: str, schema: str | None) -> AsyncEngine:
    if is_sqlite(url):
        path = url.split("///", 1)[1].split("?", 1)[0] if "///" in url else ""
        if path and path != ":memory:" and not path.startswith("file:"):
            private_file(Path(path))
        engine = create_async_engine(
            url, pool_size=1, max_overflow=0, pool_timeout=120, connect_args={"timeout": 60}
        )
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    # No pre-ping: it costs a round trip per checkout (a quarter of a request's time).
    # A connection found dead after a database restart fails once, is invalidated, and
    # the caller sees a 503 or a consumer retry; the next checkout gets a fresh one.
    engine = create_async_engine(url, pool_pre_ping=False, pool_size=10, max_overflow=10)
    if schema:
        engine = engine.execution_options(schema_translate_map={None: schema})
    return engine


def private_file(path: Path) -> None:
    """Make ``path`` readable by its owner only (0600), in a directory made 0700 if it is
    made here: the SQLite stores hold events and sealed keys. The file is created before
    SQLite opens it, because SQLite gives a store's ``-wal`` and ``-shm`` files the mode
    of the store's file; a file (or its ``-wal``/``-shm``) found wider is narrowed."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    for each in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        try:
            if each.stat().st_mode & 0o077:
                os.chmod(each, 0o600)
        except FileNotFoundError:
            continue


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=60000")
    cursor.close()


def session_maker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


async def create_tables(engine: AsyncEngine, tables: list[Table], schema: str | None) -> None:
    """Create the service's tables if missing (migrations proper come with Alembic)."""
    async with engine.begin() as conn:
        if schema and not is_sqlite(str(engine.url)):
            await conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
        await conn.run_sync(SQLModel.metadata.create_all, tables=tables)
        await conn.run_sync(_add_missing_columns, tables)


def _add_missing_columns(conn, tables: list[Table]) -> None:
    """SQLite files made before a nullable column was declared (e.g. ``event_store.trace``)
    get it added; ``create_all`` only makes missing tables. PostgreSQL: the migrations."""
    inspector = inspect(conn)
    for table in tables:
        if not inspector.has_table(table.name):
            continue
        present = {c["name"] for c in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name not in present and column.nullable:
                kind = column.type.compile(conn.dialect)
                conn.execute(text(f'ALTER TABLE "{table.name}" ADD COLUMN "{column.name}" {kind}'))


async def ping(engine: AsyncEngine) -> bool:
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        return True
    except Exception:  # noqa: BLE001 - readiness reports any failure as not ready
        return False


# SQLSTATE classes of a server going away or not there yet, not of a fault in the data:
# 08 connection exceptions; 57P operator intervention (57P01 admin shutdown, 57P02 crash
# shutdown, 57P03 "the database system is shutting down" / "is starting up").
_OUTAGE_STATES = ("08", "57P")


def _outage_state(error: exc.DBAPIError) -> bool:
    state = getattr(error.orig, "sqlstate", None) or getattr(error.orig, "pgcode", None)
    return isinstance(state, str) and state.startswith(_OUTAGE_STATES)


def is_transient(error: BaseException) -> bool:
    """A database or network outage, as opposed to a fault in the data or the code:
    wait and try again; never dead-letter an event for it."""
    if isinstance(error, exc.DBAPIError) and (error.connection_invalidated or _outage_state(error)):
        return True
    return isinstance(
        error,
        exc.OperationalError | exc.InterfaceError | exc.TimeoutError | exc.DisconnectionError
        | ConnectionError | OSError,
    )
