"""Reporting's live projection folds a consumer batch together and writes it set-based:
whatever the batch sizes (one event per transaction, or batches of consecutive events per
topic, topics interleaved, a batch delivered twice), the fact tables are those the replay
builds from the same logs."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from servicekontor.synthetic_history import FILES, write_history
from services.reporting.adapters.event_log import SqliteEventLog
from services.reporting.adapters.tables import FACT_TABLES
from services.reporting.bootstrap import bootstrap
from services.reporting.config import ReportingSettings
from services.reporting.entrypoints.consumers import build_consumers
from services.reporting.handlers.replay import replay
from shared import topics
from shared.db import sqlite_url
from shared.eventstore import from_row
from shared.tracking import Checkpoint

TZ = ZoneInfo("Europe/Stockholm")
TOPIC = {"intake": topics.INTAKE, "routing": topics.ROUTING, "gateway": topics.GATEWAY}


def topic_events(data_dir: Path) -> dict[str, list]:
    out = {}
    for producer, name in FILES.items():
        with sqlite3.connect(data_dir / name) as db:
            db.row_factory = sqlite3.Row
            rows = [dict(r) for r in db.execute("SELECT rowid AS position, * FROM event_store ORDER BY rowid")]
        for row in rows:
            row["occurred_at"] = datetime.fromisoformat(row["occurred_at"]).replace(tzinfo=UTC)
            row.setdefault("trace", None)
        out[TOPIC[producer]] = [(from_row(SimpleNamespace(**r)), Checkpoint(TOPIC[producer], 0, r["position"]))
                                for r in rows]
    return out


def facts(db: Path) -> dict[str, list]:
    with sqlite3.connect(db) as conn:
        return {t.name: sorted(map(repr, conn.execute(f"SELECT * FROM {t.name}"))) for t in FACT_TABLES}


async def runtime_at(data_dir: Path, name: str):
    runtime = bootstrap(ReportingSettings(data_dir=data_dir, reporting_database_url=sqlite_url(data_dir / name)))
    await runtime.init_db()
    return runtime


async def live(data_dir: Path, name: str, size: int) -> dict[str, list]:
    runtime = await runtime_at(data_dir, name)
    [consumer] = build_consumers(runtime.uow_factory, TZ)
    events = topic_events(data_dir)
    longest = max(len(e) for e in events.values())
    for start in range(0, longest, size):  # the topics' batches interleaved
        for items in events.values():
            batch = items[start : start + size]
            if size == 1 and batch:
                await consumer.handle(*batch[0])
            elif batch:
                await consumer.handle_batch(batch)
    await consumer.handle_batch(events[topics.GATEWAY][:size + 3])  # redelivered: nothing changes
    assert consumer.dead_lettered == 0
    await runtime.close()
    return facts(data_dir / name)


async def test_live_batches_of_any_size_give_the_replays_facts(tmp_path: Path) -> None:
    write_history(tmp_path, 150, days=5, office_count=4)
    runtime = await runtime_at(tmp_path, "replayed.db")
    logs = [SqliteEventLog(tmp_path / name, TOPIC[p]) for p, name in FILES.items()]
    await replay(runtime.engine, logs, TZ, None)
    await runtime.close()
    replayed = facts(tmp_path / "replayed.db")
    assert all(replayed[t] for t in ("reporting_questions", "reporting_desk_sessions", "reporting_meetings"))

    one_by_one = await live(tmp_path, "single.db", 1)
    batched = await live(tmp_path, "batched.db", 64)

    assert one_by_one == replayed
    assert batched == replayed
