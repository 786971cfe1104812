"""Alembic migrations for the services' PostgreSQL schemas (run by ``servicekontor
migrate``, and at start-up under an advisory lock so replicas never race).

Every service has its own schema and its own ``alembic_version`` table in it. The
revisions live in ``versions/``; the baseline creates the tables a service declares
(``ServiceRuntime.tables``), later revisions change them step by step.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

HERE = Path(__file__).parent
LOCK_KEY = 0x5E41C0  # pg_advisory_lock key shared by every service's migration


def alembic_config(schema: str, tables: list, connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(HERE))
    config.attributes.update(connection=connection, schema=schema, tables=tables)
    return config


async def upgrade(engine: AsyncEngine, schema: str, tables: list) -> None:
    async with engine.begin() as conn:
        await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
        await conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
        await conn.run_sync(lambda sync: command.upgrade(alembic_config(schema, tables, sync), "head"))


async def current(engine: AsyncEngine, schema: str) -> str | None:
    async with engine.connect() as conn:
        exists = await conn.scalar(
            text("SELECT to_regclass(:name)"), {"name": f'"{schema}".alembic_version'}
        )
        if not exists:
            return None
        return await conn.scalar(text(f'SELECT version_num FROM "{schema}".alembic_version'))
