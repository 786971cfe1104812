"""The embedded default's SQLite stores are readable by their owner only: created 0600
(with their -wal and -shm) in a directory made 0700, and narrowed when found wider
(issue 15, finding 3: they were 0644)."""

from __future__ import annotations

import os

from sqlalchemy import text

from shared.db import create_engine, sqlite_url


def mode(path) -> int:
    return path.stat().st_mode & 0o777


async def test_a_new_store_and_its_wal_are_0600_in_a_0700_directory(tmp_path):
    path = tmp_path / "fresh" / "intake.db"
    engine = create_engine(sqlite_url(path))
    async with engine.begin() as conn:
        await conn.execute(text("create table t (x text)"))
        await conn.execute(text("insert into t values ('a')"))
    try:
        assert mode(path.parent) == 0o700
        assert {p.name: mode(p) for p in path.parent.iterdir()} == {
            "intake.db": 0o600, "intake.db-wal": 0o600, "intake.db-shm": 0o600,
        }
    finally:
        await engine.dispose()


async def test_a_store_found_wider_is_narrowed(tmp_path):
    path = tmp_path / "routing.db"
    for name in ("routing.db", "routing.db-wal"):
        (tmp_path / name).touch()
        os.chmod(tmp_path / name, 0o644)
    engine = create_engine(sqlite_url(path))
    await engine.dispose()
    assert mode(path) == 0o600 and mode(tmp_path / "routing.db-wal") == 0o600
