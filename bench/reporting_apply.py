"""Reporting's live projection: CPU ms and SQL statements per event, through the real
consumer (``EventConsumer.handle_batch`` → reporting's handlers) in batches, beside the
replay of the same history (the bulk path) as an anchor.

    python bench/reporting_apply.py                    # 1 500 visits, batches of 200, SQLite
    python bench/reporting_apply.py --visits 3000 --batch 200 --postgres

The history is ``servicekontor.synthetic_history`` (visits with questions, decisions,
deliveries, desk sessions, meetings). Events of the three logs are merged by time and
handed over in windows: within a window each topic's events form one batch (one topic
partition's consecutive events, as the buses hand them over). CPU is the whole process's
(``time.process_time``: the event loop and the database driver's threads). Statements are
counted with SQLAlchemy's ``before_cursor_execute`` (the replay's SQLite ``executemany``
through the driver is not counted: it is one statement per table and chunk).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import sys
import tempfile
import time
import uuid
from collections import Counter
from contextlib import ExitStack
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import event  # noqa: E402

from servicekontor.synthetic_history import FILES, write_history  # noqa: E402
from services.reporting.adapters.cost_config import SAMPLE, load_cost_config  # noqa: E402
from services.reporting.adapters.event_log import SqliteEventLog  # noqa: E402
from services.reporting.bootstrap import bootstrap  # noqa: E402
from services.reporting.config import ReportingSettings  # noqa: E402
from services.reporting.entrypoints.consumers import build_consumers  # noqa: E402
from services.reporting.handlers.replay import replay  # noqa: E402
from shared import topics  # noqa: E402
from shared.catalog import load_catalog  # noqa: E402
from shared.db import sqlite_url  # noqa: E402
from shared.eventstore import from_row  # noqa: E402
from shared.tracking import Checkpoint  # noqa: E402

TZ = ZoneInfo("Europe/Stockholm")
TOPIC = {"intake": topics.INTAKE, "routing": topics.ROUTING, "gateway": topics.GATEWAY}


def read_events(data_dir: Path) -> list[tuple[str, int, object]]:
    """(topic, position, envelope) of every event, merged by the time it happened."""
    out = []
    for producer, name in FILES.items():
        with sqlite3.connect(data_dir / name) as db:
            db.row_factory = sqlite3.Row
            for row in db.execute("SELECT rowid AS position, * FROM event_store ORDER BY rowid"):
                values = dict(row)
                values["occurred_at"] = datetime.fromisoformat(values["occurred_at"])
                values.setdefault("trace", None)
                out.append((TOPIC[producer], values["position"], from_row(SimpleNamespace(**values))))
    out.sort(key=lambda item: item[2].occurred_at)
    return out


def batches(events: list, size: int) -> list[list[tuple]]:
    """Windows of ``3 * size`` events; in each, one batch per topic (its events in order)."""
    out = []
    for start in range(0, len(events), size * 3):
        by_topic: dict[str, list] = {}
        for topic, position, envelope in events[start : start + size * 3]:
            by_topic.setdefault(topic, []).append((envelope, Checkpoint(topic, 0, position)))
        for topic in sorted(by_topic, key=lambda t: by_topic[t][0][1].position):
            out.append(sorted(by_topic[topic], key=lambda item: item[1].position))
    return out


def count_statements(engine) -> Counter:
    counts: Counter = Counter()

    def before(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001
        counts[statement.lstrip().split(None, 1)[0].upper()] += 1

    event.listen(engine.sync_engine, "before_cursor_execute", before)
    return counts


async def database_url(data_dir: Path, server: str | None, name: str) -> str:
    """A new SQLite file, or a new database on the PostgreSQL server (dropped at exit)."""
    if server is None:
        return sqlite_url(data_dir / f"{name}.db")
    import asyncpg

    admin = await asyncpg.connect(server.replace("postgresql+asyncpg://", "postgresql://"))
    await admin.execute(f'CREATE DATABASE "sk_bench_{name}"')
    await admin.close()
    return server.rsplit("/", 1)[0] + f"/sk_bench_{name}"


async def drop_databases(server: str) -> None:
    import asyncpg

    admin = await asyncpg.connect(server.replace("postgresql+asyncpg://", "postgresql://"))
    names = await admin.fetch("SELECT datname FROM pg_database WHERE datname LIKE 'sk_bench_%'")
    for row in names:
        await admin.execute(f'DROP DATABASE IF EXISTS "{row[0]}"')
    await admin.close()


async def runtime_for(data_dir: Path, server: str | None, name: str):
    url = await database_url(data_dir, server, f"{name}_{uuid.uuid4().hex[:6]}")
    runtime = bootstrap(ReportingSettings(data_dir=data_dir, reporting_costs_file=SAMPLE,
                                          reporting_database_url=url))
    await runtime.init_db()
    return runtime


async def live(data_dir: Path, url: str | None, feed: list[list[tuple]], n: int) -> dict:
    runtime = await runtime_for(data_dir, url, "live")
    [consumer] = build_consumers(runtime.uow_factory, TZ)
    counts = count_statements(runtime.engine)
    cpu, wall = time.process_time(), time.perf_counter()
    for batch in feed:
        await consumer.handle_batch(batch)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    await runtime.close()
    rows = fact_rows(str(runtime.engine.url)) if url is None else None
    return summary("live apply", n, cpu, wall, counts, handled=consumer.handled,
                   dead=consumer.dead_lettered), rows


async def replayed(data_dir: Path, url: str | None, n: int) -> dict:
    runtime = await runtime_for(data_dir, url, "replay")
    counts = count_statements(runtime.engine)
    logs = [SqliteEventLog(data_dir / name, TOPIC[p]) for p, name in FILES.items()]
    cpu, wall = time.process_time(), time.perf_counter()
    await replay(runtime.engine, logs, TZ, load_cost_config(SAMPLE, load_catalog()))
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    await runtime.close()
    rows = fact_rows(str(runtime.engine.url)) if url is None else None
    return summary("replay (bulk)", n, cpu, wall, counts), rows


def fact_rows(engine_url: str) -> dict[str, list]:
    """Every fact table's rows, sorted (SQLite): what the live path and the replay must
    agree on."""
    from services.reporting.adapters.tables import FACT_TABLES

    path = engine_url.split("///", 1)[1]
    with sqlite3.connect(path) as db:
        return {t.name: sorted(map(repr, db.execute(f"SELECT * FROM {t.name}"))) for t in FACT_TABLES}


def summary(name: str, n: int, cpu: float, wall: float, counts: Counter, **extra) -> dict:
    return {"path": name, "events": n, "cpu_ms_per_event": round(cpu * 1000 / n, 3),
            "wall_ms_per_event": round(wall * 1000 / n, 3),
            "statements_per_event": round(sum(counts.values()) / n, 3),
            **{f"{k.lower()}_per_event": round(v / n, 3) for k, v in sorted(counts.items())}, **extra}


def postgres_url(stack: ExitStack) -> str | None:
    from tests.realservers import acquire

    found = acquire(stack)
    if isinstance(found, str):
        print(f"PostgreSQL: none ({found})")
        return None
    return found.database_url


async def main(visits: int, size: int, pg: bool, dump: Path | None = None) -> list[dict]:
    results = []
    with tempfile.TemporaryDirectory(prefix="sk-apply-bench-") as tmp, ExitStack() as stack:
        data_dir = Path(tmp)
        write_history(data_dir, visits, days=20, office_count=10)
        events = read_events(data_dir)
        feed = batches(events, size)
        print(f"{len(events):,} events of {visits:,} visits; {len(feed)} batches of up to {size}")
        targets = [("sqlite", None)]
        if pg and (url := postgres_url(stack)):
            targets.append(("postgresql", url))
        for name, url in targets:
            (applied, live_rows), (rebuilt, replay_rows) = (
                await live(data_dir, url, feed, len(events)), await replayed(data_dir, url, len(events)))
            for result in (applied, rebuilt):
                result["database"] = name
                results.append(result)
                print(json.dumps(result))
            if live_rows is not None:
                differ = sorted(t for t in live_rows if live_rows[t] != replay_rows[t])
                print(f"fact tables live == replay: {not differ}" + (f" (differ: {differ})" if differ else ""))
                if dump:
                    dump.write_text(json.dumps(live_rows, indent=0), encoding="utf-8")
            if url:
                await drop_databases(url)
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--visits", type=int, default=1500)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--postgres", action="store_true", help="also on the real PostgreSQL server")
    parser.add_argument("--dump", type=Path, help="write the live path's fact rows (SQLite) as JSON")
    args = parser.parse_args()
    asyncio.run(main(args.visits, args.batch, args.postgres, args.dump))
