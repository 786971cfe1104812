#!/usr/bin/env python3
"""Check that asyncpg can use the local PostgreSQL started by postgres-start.sh.

    python deploy/local/check_postgres.py [DATABASE_URL]

DATABASE_URL defaults to $SK_DATABASE_URL, else the local default. The
SQLAlchemy form postgresql+asyncpg://... is accepted. Exit code 0 on success.
"""

from __future__ import annotations

import asyncio
import os
import sys

import asyncpg

DEFAULT_URL = "postgresql+asyncpg://servicekontor:servicekontor@127.0.0.1:55432/servicekontor"


def step(msg: str) -> None:
    print(f"[check_postgres] {msg}", flush=True)


async def run(url: str) -> None:
    dsn = url.replace("postgresql+asyncpg://", "postgresql://", 1)
    conn = await asyncpg.connect(dsn, timeout=10)
    try:
        version = await conn.fetchval("SELECT version()")
        user, db = await conn.fetchrow("SELECT current_user, current_database()")
        step(f"asyncpg {asyncpg.__version__} connected as {user} to {db}: {version}")
        async with conn.transaction():
            await conn.execute("CREATE TEMP TABLE sk_check (id int PRIMARY KEY, note text)")
            await conn.executemany(
                "INSERT INTO sk_check VALUES ($1, $2)", [(i, f"row {i}") for i in range(5)]
            )
            count = await conn.fetchval("SELECT count(*) FROM sk_check")
            assert count == 5, count
        step("temp table round trip OK")
    finally:
        await conn.close()


def main() -> int:
    url = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("SK_DATABASE_URL", DEFAULT_URL)
    try:
        asyncio.run(run(url))
    except Exception as exc:  # noqa: BLE001 - any failure means exit code 1
        step(f"FAILED: {exc!r}")
        return 1
    step("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
