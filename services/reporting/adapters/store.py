"""The reporting store as a whole: create it (tables, views, catalog dimensions) and keep
its derived tables (aggregates, dates, offices, costs) in step with the facts."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from sqlalchemy import Table, inspect, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlmodel import SQLModel

from services.reporting.adapters.aggregates import (
    clear_dirty_days,
    rebuild_aggregates,
    take_dirty_days,
)
from services.reporting.adapters.audit_log import AUDIT_TABLE, restore_own_entries
from services.reporting.adapters.bi_role import seal_audit_log
from services.reporting.adapters.bi_tables import AGGREGATE_TABLES, COST_TABLES, DIMENSION_TABLES
from services.reporting.adapters.bulk import reset_consumer
from services.reporting.adapters.cost_store import materialize_costs
from services.reporting.adapters.dimensions import (
    update_dimensions,
    write_catalog_dimensions,
    write_office_registry,
)
from services.reporting.adapters.sql_views import view_statements
from services.reporting.adapters.tables import FACT_TABLES
from services.reporting.domain.audit import OWN_AUDITED
from services.reporting.domain.costs import CostConfig
from shared.catalog import Catalog
from shared.db import create_tables
from shared.tables import SHARED_TABLES

log = structlog.get_logger(__name__)
SHARED_NAMES = {t.name for t in SHARED_TABLES}
DERIVED_TABLES = [*DIMENSION_TABLES, *AGGREGATE_TABLES, *COST_TABLES]

SCHEMA = "reporting"


async def use_schema(conn: AsyncConnection) -> None:
    """Raw SQL (the views) names tables unqualified: on PostgreSQL, point it at the
    reporting schema for this transaction."""
    if conn.dialect.name == "postgresql":
        await conn.execute(text(f'SET LOCAL search_path TO "{SCHEMA}"'))


async def exclusive(conn: AsyncConnection) -> None:
    """One rebuild at a time across replicas (PostgreSQL): two concurrent rebuilds of a
    day could otherwise both insert its aggregate rows. SQLite serialises writers."""
    if conn.dialect.name == "postgresql":
        await conn.execute(text("SELECT pg_advisory_xact_lock(80040001)"))


async def init_store(
    migrate: Callable[[], Awaitable[None]], engine: AsyncEngine, tables: list[Table],
    catalog: Catalog, costs: CostConfig | None,
) -> None:
    """The service's own start-up (tables, or Alembic on PostgreSQL), then the views,
    the catalog dimensions and the derived tables. A store written by an older version
    (a fact table or column, or the audit log missing) is dropped first: it is a projection, rebuilt
    from the logs; the audit entries of reporting's own events (exports) come back from
    its own event store here, which a rebuild never drops."""
    async with engine.begin() as conn:
        outdated = await _outdated(conn, DERIVED_TABLES)
        if await _stale(conn):
            await _drop(conn, tables)
        elif outdated:
            await _drop(conn, outdated, facts=False)
    await migrate()
    await create_tables(engine, tables, SCHEMA)  # no-op unless dropped above
    await restore_own_entries(engine, OWN_AUDITED)
    async with engine.begin() as conn:
        await use_schema(conn)
        for statement in view_statements():
            await conn.execute(text(statement))
        await write_catalog_dimensions(conn, catalog)
        if outdated:  # derived tables of an older version: derive them again
            await rebuild_derived(conn, costs)
        await write_office_registry(conn)
        await seal_audit_log(conn)
    await refresh(engine, costs, force=True)


def _changed(found: Any, tables: list[Table], schema: str | None) -> list[Table]:
    """Tables that exist without a column the code declares now."""
    return [t for t in tables if found.has_table(t.name, schema=schema)
            and set(t.c.keys()) - {c["name"] for c in found.get_columns(t.name, schema=schema)}]


async def _outdated(conn: AsyncConnection, tables: list[Table]) -> list[Table]:
    """Derived tables (dimensions, aggregates, costs) an older version created without a
    column declared now: they are dropped and derived again from the facts, so no
    migration has to alter them (e.g. ``dim_office`` gaining the registry's names)."""
    schema = SCHEMA if conn.dialect.name == "postgresql" else None
    return await conn.run_sync(lambda sync: _changed(inspect(sync), tables, schema))


async def _stale(conn: AsyncConnection) -> bool:
    schema = SCHEMA if conn.dialect.name == "postgresql" else None
    embedded = conn.dialect.name == "sqlite"

    def missing_columns(sync_conn) -> bool:
        found = inspect(sync_conn)
        has_facts = found.has_table(FACT_TABLES[0].name, schema=schema)
        return bool(_changed(found, [*FACT_TABLES, AUDIT_TABLE], schema)) or (
            has_facts and not found.has_table(AUDIT_TABLE.name, schema=schema)
        ) or (
            # Embedded: a new fact table is filled by reading the logs again. PostgreSQL
            # gets it from the migration, filled by `servicekontor replay reporting`.
            embedded and has_facts and not all(found.has_table(t.name) for t in FACT_TABLES)
        )

    return await conn.run_sync(missing_columns)


async def _drop(conn: AsyncConnection, tables: list[Table], facts: bool = True) -> None:
    """Drop the views and ``tables``; with the facts gone, the consumer reads the logs
    again (embedded) or a replay is needed (PostgreSQL)."""
    log.warning("reporting_store_outdated_rebuilding", tables=[t.name for t in tables])
    await use_schema(conn)
    for statement in view_statements()[: len(view_statements()) // 2]:  # the DROP VIEWs
        await conn.execute(text(statement))
    own = [t for t in tables if t.name not in SHARED_NAMES]
    await conn.run_sync(lambda sync: SQLModel.metadata.drop_all(sync, tables=own))
    if not facts:
        return
    if conn.dialect.name == "sqlite":  # embedded: the consumer reads the logs again from 0
        await reset_consumer(conn, "reporting", {})
    else:
        log.warning("reporting_store_needs_replay", command="servicekontor replay reporting")


async def rebuild_derived(conn: AsyncConnection, costs: CostConfig | None) -> None:
    """Everything derived, from all facts (after a replay)."""
    await exclusive(conn)
    await rebuild_aggregates(conn, None)
    await update_dimensions(conn, None)
    await materialize_costs(conn, costs)
    await clear_dirty_days(conn, None)


async def refresh(engine: AsyncEngine, costs: CostConfig | None, force: bool = False) -> int:
    """Rebuild the aggregates of the days marked dirty; return how many days."""
    async with engine.begin() as conn:
        await exclusive(conn)
        marks = await take_dirty_days(conn)
        if not marks and not force:
            return 0
        days = [day for day, _ in marks]
        if days:
            await rebuild_aggregates(conn, days)
            await update_dimensions(conn, days)
        await materialize_costs(conn, costs)
        await clear_dirty_days(conn, marks)
    return len(marks)
