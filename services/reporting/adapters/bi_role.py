"""PostgreSQL: a read-only role for BI tools on the ``reporting`` schema.

It may read the reporting tables and views (and those created later, such as views
re-created at start-up), never write, and never read the consumer's bookkeeping
(inbox, positions, dead letters, whose error texts are operational data) nor the audit
log (it names people; supervisors read it through ``GET /v1/audit``)."""

from __future__ import annotations

import re

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shared.errors import InvalidInput

SCHEMA = "reporting"
BOOKKEEPING = ("event_store", "inbox", "subscriber_positions", "consumer_dead_letters",
               "outbox_relay_positions", "reporting_dirty_days", "audit_log", "idempotency_keys")
AUDIT_LOG = "audit_log"
_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def role_statements(role: str, password: str | None) -> list[str]:
    """Create or update the role itself (needs CREATEROLE); safe to run again."""
    if not _NAME.match(role):
        raise InvalidInput("a role name has lower-case letters, digits and _ only")
    r = _quoted(role)
    statements = [
        f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') "
        f"THEN CREATE ROLE {r} LOGIN; END IF; END $$",
        # Never a superuser (the CREATE ROLE default); inherits nothing, creates nothing.
        f"ALTER ROLE {r} WITH LOGIN NOCREATEDB NOCREATEROLE NOINHERIT",
        f"ALTER ROLE {r} SET default_transaction_read_only = on",
        f"ALTER ROLE {r} SET search_path = {_quoted(SCHEMA)}",
    ]
    if password:
        statements.append(f"ALTER ROLE {r} PASSWORD '{password.replace(chr(39), chr(39) * 2)}'")
    return statements


def grant_statements(role: str, database: str) -> list[str]:
    """What the role may read, granted by the reporting schema's owner."""
    r, s = _quoted(role), _quoted(SCHEMA)
    return [
        # PUBLIC usually may connect already; only the database's owner can grant it.
        f"DO $$ BEGIN EXECUTE 'GRANT CONNECT ON DATABASE {_quoted(database)} TO {r}'; "
        "EXCEPTION WHEN insufficient_privilege THEN NULL; END $$",
        f"GRANT USAGE ON SCHEMA {s} TO {r}",
        f"REVOKE CREATE ON SCHEMA {s} FROM {r}",
        f"GRANT SELECT ON ALL TABLES IN SCHEMA {s} TO {r}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA {s} GRANT SELECT ON TABLES TO {r}",
        *(f"REVOKE ALL ON TABLE {s}.{t} FROM {r}" for t in BOOKKEEPING),
    ]


def bi_role_statements(role: str, password: str | None, database: str) -> list[str]:
    return role_statements(role, password) + grant_statements(role, database)


async def seal_audit_log(conn: AsyncConnection) -> None:
    """PostgreSQL, at every start: no role but the owner may touch the audit log. The BI
    role's default privileges would otherwise grant it SELECT whenever a rebuild of the
    store creates the table again."""
    if conn.dialect.name != "postgresql":
        return
    grantees = await conn.execute(
        text(
            "SELECT DISTINCT grantee FROM information_schema.table_privileges "
            "WHERE table_schema = :schema AND table_name = :table AND grantee <> current_user "
            "AND grantee NOT IN (SELECT tableowner FROM pg_tables "
            "WHERE schemaname = :schema AND tablename = :table)"
        ),
        {"schema": SCHEMA, "table": AUDIT_LOG},
    )
    for (grantee,) in grantees.all():
        target = "PUBLIC" if grantee == "PUBLIC" else _quoted(grantee)
        await conn.execute(text(f"REVOKE ALL ON TABLE {_quoted(SCHEMA)}.{AUDIT_LOG} FROM {target}"))


async def create_bi_role(
    engine: AsyncEngine, role: str, password: str | None, admin: AsyncEngine | None = None
) -> None:
    """Create or alter the role with ``admin`` (a login with CREATEROLE; default: the
    service's own), then grant as the reporting schema's owner (the service's login)."""
    async with (admin or engine).begin() as conn:
        for statement in role_statements(role, password):
            await conn.execute(text(statement))
    async with engine.begin() as conn:
        database = (await conn.execute(text("SELECT current_database()"))).scalar_one()
        for statement in grant_statements(role, database):
            await conn.execute(text(statement))
