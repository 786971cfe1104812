"""The live path keeps the derived tables in step: every fact change marks its day, the
refresher rebuilds exactly those days, and a mark made during a rebuild is not lost."""

from __future__ import annotations

import random
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from servicekontor.synthetic_history import case_weights
from servicekontor.synthetic_visits import visit_story
from services.reporting.adapters.aggregates import clear_dirty_days, mark_dirty, take_dirty_days
from services.reporting.adapters.cost_config import SAMPLE
from services.reporting.adapters.store import rebuild_derived
from services.reporting.bootstrap import bootstrap
from services.reporting.config import ReportingSettings
from shared import topics
from shared.db import sqlite_url
from shared.events import EventEnvelope, event_class
from shared.tracking import Checkpoint

TOPIC = {"intake": topics.INTAKE, "routing": topics.ROUTING, "gateway": topics.GATEWAY}
DERIVED = ("agg_office_day", "agg_case_type_day", "dim_office", "dim_date", "cost_allocation")


def derived(path: Path) -> dict[str, list[tuple]]:
    with sqlite3.connect(path) as db:
        tables = {t: db.execute(f"SELECT * FROM {t}").fetchall() for t in DERIVED}
    tables["agg_case_type_day"] = [r[1:] for r in tables["agg_case_type_day"]]  # not the id
    return {t: sorted(rows, key=repr) for t, rows in tables.items()}


async def test_the_refresher_rebuilds_the_days_the_consumer_changed(tmp_path: Path) -> None:
    runtime = bootstrap(ReportingSettings(
        data_dir=tmp_path, reporting_costs_file=SAMPLE,
        reporting_database_url=sqlite_url(tmp_path / "reporting.db")))
    await runtime.init_db()
    consumer, rng = runtime.consumers[0], random.Random(4)
    keys, weights = list(case_weights()), list(case_weights().values())
    positions = dict.fromkeys(TOPIC.values(), 0)
    for n in range(30):
        start = datetime(2026, 2, 2, 9, tzinfo=UTC) + timedelta(days=n % 4, minutes=n)
        story = visit_story(rng, f"office-{n % 3}", start, rng.choices(keys, weights, k=2))
        for producer, stream, kind, _, payload in story.events:
            event = event_class(f"{producer}.{kind}").model_validate(payload)
            positions[TOPIC[producer]] += 1
            envelope = EventEnvelope.wrap(event, stream_id=stream, stream_version=positions[TOPIC[producer]])
            await consumer.handle(envelope, Checkpoint(TOPIC[producer], 0, positions[TOPIC[producer]]))
    assert await runtime.deps.refresh() == 4, "four service days changed"
    assert await runtime.deps.refresh() == 0
    live = derived(tmp_path / "reporting.db")
    assert sum(r[2] for r in live["agg_office_day"]) == 30
    async with runtime.engine.begin() as conn:
        await rebuild_derived(conn, runtime.deps.costs)
    assert derived(tmp_path / "reporting.db") == live
    await runtime.close()


async def test_a_day_marked_again_during_a_rebuild_stays_marked(tmp_path: Path) -> None:
    runtime = bootstrap(ReportingSettings(
        data_dir=tmp_path, reporting_database_url=sqlite_url(tmp_path / "reporting.db")))
    await runtime.init_db()
    async with runtime.sessions() as session:
        await mark_dirty(session, ["2026-02-02", "2026-02-03"])
        await session.commit()
    async with runtime.engine.begin() as conn:
        seen = await take_dirty_days(conn)
    async with runtime.sessions() as session:
        await mark_dirty(session, ["2026-02-03"])  # a consumer changes the day meanwhile
        await session.commit()
    async with runtime.engine.begin() as conn:
        await clear_dirty_days(conn, seen)
        left = await take_dirty_days(conn)
    assert left == [("2026-02-03", 2)]
    await runtime.close()


async def test_a_store_of_an_older_version_is_rebuilt_from_the_logs(tmp_path: Path) -> None:
    path = tmp_path / "reporting.db"
    runtime = bootstrap(ReportingSettings(data_dir=tmp_path, reporting_database_url=sqlite_url(path)))
    await runtime.init_db()
    await runtime.close()
    with sqlite3.connect(path) as db:  # what an older version left: a column less, a position
        for (view,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'view'").fetchall():
            db.execute(f"DROP VIEW {view}")
        db.execute("ALTER TABLE reporting_visits DROP COLUMN registered_weekday")
        db.execute("INSERT INTO reporting_visits (visit_id, office_id, question_count) VALUES ('v1', 'x', 0)")
        db.execute("INSERT INTO subscriber_positions VALUES ('reporting', ?, 0, 41)", (topics.INTAKE,))
    db.close()
    runtime = bootstrap(ReportingSettings(data_dir=tmp_path, reporting_database_url=sqlite_url(path)))
    await runtime.init_db()
    assert await runtime.consumers[0].positions() == {}, "the consumer reads the logs again"
    await runtime.close()
    with sqlite3.connect(path) as db:
        columns = {r[1] for r in db.execute("PRAGMA table_info(reporting_visits)")}
        rows = db.execute("SELECT COUNT(*) FROM reporting_visits").fetchone()
    db.close()
    assert "registered_weekday" in columns and rows == (0,)
