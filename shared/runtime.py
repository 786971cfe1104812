"""A wired service: what ``bootstrap`` returns and what runners start."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from fastapi import FastAPI
from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from shared.bus import Bus
from shared.consumer import EventConsumer
from shared.db import create_tables, is_sqlite, ping
from shared.eventstore import LoggedEvent, read_log


D = TypeVar("D")


@dataclass
class ServiceRuntime(Generic[D]):
    """``deps`` is the service's own typed dependencies (a dataclass declared in its
    ``entrypoints/deps.py``), what its routes, consumers and commands need besides the
    database: the catalog, the vault, readers, clients."""

    name: str
    settings: Any
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    tables: list[Table]
    schema: str | None
    uow_factory: Callable[[], Any]
    topic: str | None = None
    consumers: list[EventConsumer] = field(default_factory=list)
    workers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    app: FastAPI | None = None
    bus: Bus | None = None
    deps: D = None  # type: ignore[assignment]  # set by the service's bootstrap
    # Run by ``close`` before the engine is disposed (e.g. HTTP clients).
    closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    # Run by ``init_db`` after the service's own tables (e.g. the vault's table).
    initializers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    async def init_db(self) -> None:
        """SQLite (embedded): create missing tables. PostgreSQL: Alembic migrations."""
        if is_sqlite(str(self.engine.url)):
            await create_tables(self.engine, self.tables, self.schema)
        else:
            from shared.migrations import upgrade

            await upgrade(self.engine, self.schema or self.name, self.tables)
        for initialize in self.initializers:
            await initialize()

    async def ready(self) -> dict[str, bool]:
        return {"database": await ping(self.engine)}

    async def read_log(self, after: int, limit: int) -> list[LoggedEvent]:
        async with self.sessions() as session:
            return await read_log(session, after, limit)

    async def close(self) -> None:
        for closer in self.closers:
            await closer()
        await self.engine.dispose()
