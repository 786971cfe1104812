"""The bare anchors bench/e2e.py measures the system against: a FastAPI + uvicorn app whose
one route inserts a row, nothing else (no auth, no middleware, no events). Each runs in its
own process, so its CPU is counted alone:

    python bench/anchors.py sqlite --port 8100 --db /tmp/anchor.db
    python bench/anchors.py postgres --port 8101 --dsn postgresql://...

POST /items {"text": ...} -> 201 {"id": ...}. GET /ready -> 200 once the table exists.
"""

from __future__ import annotations

import argparse
import uuid
from contextlib import asynccontextmanager

import uvicorn
from fastapi import FastAPI
from pydantic import BaseModel


class Item(BaseModel):
    text: str


async def sqlite_store(path: str):
    """(insert, close) on one aiosqlite connection, a commit per row."""
    import aiosqlite

    db = await aiosqlite.connect(path)
    await db.execute("pragma journal_mode=wal")
    await db.execute("create table if not exists items (id text primary key, text text)")

    async def insert(key: str, text: str) -> None:
        await db.execute("insert into items values (?, ?)", (key, text))
        await db.commit()

    return insert, db.close


async def postgres_store(dsn: str):
    """(insert, close) on an asyncpg pool, one autocommitted statement per row."""
    import asyncpg

    pool = await asyncpg.create_pool(dsn, min_size=2, max_size=10)
    await pool.execute("create table if not exists anchor_items (id text primary key, text text)")

    async def insert(key: str, text: str) -> None:
        await pool.execute("insert into anchor_items values ($1, $2)", key, text)

    return insert, pool.close


def bare_app(open_store) -> FastAPI:
    """``open_store()`` -> (insert, close), awaited at startup."""
    store: dict = {}

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        store["insert"], close = await open_store()
        yield
        await close()

    app = FastAPI(lifespan=lifespan)

    @app.post("/items", status_code=201)
    async def insert(item: Item) -> dict:
        key = uuid.uuid4().hex
        await store["insert"](key, item.text)
        return {"id": key}

    @app.get("/ready")
    async def ready() -> dict:
        return {"ready": True}

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("store", choices=["sqlite", "postgres"])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--db", help="SQLite file (sqlite)")
    parser.add_argument("--dsn", help="postgresql:// DSN (postgres)")
    args = parser.parse_args()
    app = bare_app(lambda: sqlite_store(args.db) if args.store == "sqlite" else postgres_store(args.dsn))
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
