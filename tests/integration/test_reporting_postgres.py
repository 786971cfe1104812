"""The reporting store on a real PostgreSQL (``eval "$(deploy/local/postgres-start.sh)"``):
the same tables and views in schema ``reporting``, filled by a replay, and the read-only
role for BI tools. On the suite's real PostgreSQL (tests/realservers.py). Each test works in a database
of its own, dropped afterwards."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections import Counter
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from servicekontor.synthetic_history import write_history
from services.reporting.adapters.bi_role import create_bi_role
from services.reporting.adapters.event_log import SqliteEventLog
from services.reporting.bootstrap import bootstrap
from services.reporting.config import ReportingSettings
from services.reporting.handlers.replay import replay
from shared import topics
from tests.helpers import api_client
from tests.realservers import with_login

pytestmark = pytest.mark.realservers


@pytest.fixture
def server_url(real_servers) -> str:
    """The real PostgreSQL of the suite (tests/realservers.py)."""
    return real_servers.database_url


def plain(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


@pytest.fixture
async def database(server_url: str):
    import asyncpg

    name = f"sk_reporting_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(plain(server_url))
    await admin.execute(f'CREATE DATABASE "{name}"')
    yield server_url.rsplit("/", 1)[0] + "/" + name
    await drop_database(admin, name)
    await admin.close()


async def drop_database(conn, name: str, timeout: float = 15.0) -> None:
    """Drop a test database once the last session in it (a BI login closing, which we may
    not terminate) has gone: wait on that condition, with a deadline."""
    import asyncpg

    deadline = time.monotonic() + timeout
    while True:
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            return
        except asyncpg.ObjectInUseError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.1)


async def filled(url: str, tmp_path: Path):
    history = write_history(tmp_path, 150, seed=5, days=10, office_count=4)
    runtime = bootstrap(ReportingSettings(data_dir=tmp_path, reporting_database_url=url))
    await runtime.init_db()
    logs = [SqliteEventLog(tmp_path / f, t) for f, t in (
        ("intake.db", topics.INTAKE), ("routing.db", topics.ROUTING),
        ("agency_gateway.db", topics.GATEWAY))]
    await replay(runtime.engine, logs, ZoneInfo("Europe/Stockholm"), None)
    return runtime, history


async def test_the_same_store_and_views_on_postgresql(database: str, tmp_path: Path) -> None:
    import asyncpg

    runtime, history = await filled(database, tmp_path)
    async with api_client(runtime) as client:
        summary = (await client.get("/v1/stats/summary")).json()
        rows = (await client.get("/v1/stats/case-types")).json()["rows"]
        waiting = await client.get("/v1/stats/waiting", params={"group_by": "office"})
    await runtime.close()
    assert (summary["visits"], summary["questions"]) == (history.visits, history.questions)
    assert Counter({(r["agency"], r["case_type"], r["level"]): r["questions"] for r in rows}) == history.by_case_type
    assert waiting.status_code == 200 and len(waiting.json()["rows"]) == 4
    db = await asyncpg.connect(plain(database))
    try:
        await db.execute("SET search_path TO reporting")
        assert await db.fetchval("SELECT SUM(visits) FROM agg_office_day") == history.visits
        assert round(await db.fetchval("SELECT SUM(share) FROM v_case_type_shares"), 6) == 1
        views = await db.fetch("SELECT table_name FROM information_schema.views WHERE table_schema = 'reporting'")
        for (view,) in views:
            await db.fetch(f"SELECT * FROM {view} LIMIT 1")
        assert len(views) >= 15
    finally:
        await db.close()


async def role_creator(server_url: str):
    """(SK_ADMIN_DATABASE_URL, an engine on it or None); skip when no one may create roles."""
    import asyncpg

    admin_url = os.environ.get("SK_ADMIN_DATABASE_URL")
    owner = await asyncpg.connect(plain(server_url))
    can_create = await owner.fetchval("SELECT rolcreaterole OR rolsuper FROM pg_roles WHERE rolname = current_user")
    await owner.close()
    if not (can_create or admin_url):
        pytest.skip("creating a role needs CREATEROLE: set SK_ADMIN_DATABASE_URL")
    if not admin_url:
        return None, None
    from shared.db import create_engine

    return admin_url, create_engine(admin_url)


async def drop_database_and_role(server_url: str, database: str, role: str, admin_url, admin) -> None:
    """The role's grants live in the test's database: drop it first, then the role."""
    import asyncpg

    owner = await asyncpg.connect(plain(server_url))
    await drop_database(owner, database.rsplit("/", 1)[1])
    await owner.close()
    cleanup = await asyncpg.connect(plain(admin_url or server_url))
    await cleanup.execute(f'DROP ROLE IF EXISTS "{role}"')
    await cleanup.close()
    if admin is not None:
        await admin.dispose()


async def test_the_bi_role_reads_but_never_writes(database: str, server_url: str, tmp_path: Path) -> None:
    import asyncpg

    admin_url, admin = await role_creator(server_url)
    runtime, history = await filled(database, tmp_path)
    role, password = f"sk_bi_{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    try:
        await create_bi_role(runtime.engine, role, password, admin)
        await create_bi_role(runtime.engine, role, password, admin)  # safe to run again
        await runtime.close()
        runtime = bootstrap(ReportingSettings(data_dir=tmp_path, reporting_database_url=database))
        await runtime.init_db()  # views are dropped and created again at every start
        bi_url = with_login(plain(database), role, password)
        bi = await asyncpg.connect(bi_url)
        try:
            assert await bi.fetchval("SELECT current_user") == role  # not the owner's login
            assert await bi.fetchval("SELECT COUNT(*) FROM reporting_visits") == history.visits
            assert await bi.fetchval("SELECT SUM(questions) FROM v_case_type_shares") == history.questions
            for statement in ("DELETE FROM reporting_visits", "SELECT COUNT(*) FROM inbox",
                              "SELECT COUNT(*) FROM idempotency_keys",
                              "CREATE TABLE reporting.mine (x int)"):
                with pytest.raises(asyncpg.PostgresError):
                    await bi.execute(statement)
        finally:
            await bi.close()
    finally:
        await runtime.close()
        await drop_database_and_role(server_url, database, role, admin_url, admin)
