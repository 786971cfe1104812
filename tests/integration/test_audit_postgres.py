"""The audit log on a real PostgreSQL (tests/realservers.py): filled by a replay and by an
export, read through ``GET /v1/audit``, and never readable by the BI role, also after a
rebuild of the store has created the table again (default privileges would grant it)."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from services.reporting.adapters.bi_role import create_bi_role
from services.reporting.bootstrap import bootstrap
from services.reporting.config import ReportingSettings
from tests.helpers import api_client
from tests.integration.test_reporting_postgres import (  # noqa: F401 - fixtures
    database,
    drop_database_and_role,
    filled,
    plain,
    role_creator,
    server_url,
)
from tests.realservers import with_login

pytestmark = pytest.mark.realservers


async def test_the_audit_log_on_postgresql_and_the_bi_role_never_reads_it(
    database: str, server_url: str, tmp_path: Path  # noqa: F811
) -> None:
    import asyncpg

    admin_url, admin = await role_creator(server_url)
    runtime, history = await filled(database, tmp_path)
    role, password = f"sk_bi_{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    try:
        async with api_client(runtime, "admin") as client:
            overrides = (await client.get("/v1/audit", params={"action": "override"})).json()
            assert overrides["total"] > 0  # the synthetic history overrides some questions
            assert {r["actor"] for r in overrides["rows"]} == {"unauthenticated"}
            assert (await client.get("/v1/export/dim_date", params={"from": "2026-01-01"})).status_code == 200
            exports = (await client.get("/v1/audit", params={"action": "export", "from": "2020-01-01"})).json()
        assert [(r["actor"], r["subject"]) for r in exports["rows"]] == [("test-admin", "dim_date")]
        await create_bi_role(runtime.engine, role, password, admin)
        await runtime.close()
        bi_url = with_login(plain(database), role, password)

        async def bi_reads(table: str) -> bool:
            bi = await asyncpg.connect(bi_url)
            try:
                await bi.fetchval(f"SELECT COUNT(*) FROM {table}")
                return True
            except asyncpg.InsufficientPrivilegeError:
                return False
            finally:
                await bi.close()

        assert await bi_reads("reporting_visits") and not await bi_reads("audit_log")
        # An older store (no audit log) is rebuilt at start-up: every table is created
        # again, and the BI role's default privileges would grant the new audit log.
        owner = await asyncpg.connect(plain(database))
        await owner.execute("DROP TABLE reporting.audit_log")
        await owner.close()
        runtime = bootstrap(ReportingSettings(data_dir=tmp_path, reporting_database_url=database))
        await runtime.init_db()
        async with api_client(runtime, "supervisor") as client:
            back = (await client.get("/v1/audit")).json()
        assert [r["action"] for r in back["rows"]] == ["export"]  # from reporting's own events
        assert await bi_reads("reporting_visits") and not await bi_reads("audit_log")
    finally:
        await runtime.close()
        await drop_database_and_role(server_url, database, role, admin_url, admin)
