"""Figures match what intake accepted, exactly, after a crash of the reporting consumer
and after a replay; the replay rebuilds the same store the live consumer built, handles
events out of order and duplicates, and leaves the old store when it fails."""

from __future__ import annotations

import json
import random
import sqlite3
from collections import Counter
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest

from servicekontor.synthetic_history import write_history
from services.intake.bootstrap import bootstrap as intake_bootstrap
from services.intake.config import IntakeSettings
from services.reporting.adapters.event_log import SqliteEventLog
from services.reporting.adapters.tables import FACT_TABLES
from services.reporting.bootstrap import bootstrap as reporting_bootstrap
from services.reporting.config import ReportingSettings
from services.reporting.handlers.replay import replay
from services.routing.bootstrap import bootstrap as routing_bootstrap
from services.routing.config import RoutingSettings
from shared import topics
from shared.consumer import EventConsumer
from shared.db import sqlite_url
from shared.runtime import ServiceRuntime
from shared.tracking import Checkpoint
from tests.helpers import api_client

TZ = ZoneInfo("Europe/Stockholm")
PIN = "19811218-9876"
QUESTIONS = ["Jag vill ansöka om id-kort", "Hur ansöker jag om bostadsbidrag?",
             f"Mitt personnummer är {PIN}, när kommer föräldrapenningen?",
             "Jag har flyttat till Sverige och vill folkbokföra mig", "Hur deklarerar jag?"]


DAY_TABLES = [t.name for t in FACT_TABLES[2:]]


class Crash(BaseException):
    """The process dies mid-transaction: nothing catches it, the transaction is lost."""


def logs(data_dir: Path) -> list[SqliteEventLog]:
    return [SqliteEventLog(data_dir / "intake.db", topics.INTAKE),
            SqliteEventLog(data_dir / "routing.db", topics.ROUTING),
            SqliteEventLog(data_dir / "agency_gateway.db", topics.GATEWAY)]


async def pump(consumer: EventConsumer, producers: dict[str, ServiceRuntime]) -> None:
    """What the embedded bus does, deterministically: each topic from the consumer's
    saved position, in batches, until nothing is left."""
    for topic, producer in producers.items():
        position = (await consumer.positions()).get((topic, 0), 0)
        while batch := await producer.read_log(position, 10):
            await consumer.handle_batch([(i.envelope, Checkpoint(topic, 0, i.position)) for i in batch])
            position = batch[-1].position


OFFICES = ("lulea", "umea", "ostersund")


async def drive(client: httpx.AsyncClient, rng: random.Random, visits: int) -> None:
    """Visits through a whole office day: desks open and close, some visitors are called
    again, some transferred to another queue, some never come to the desk."""
    for office in OFFICES:
        opened = await client.post(f"/v1/offices/{office}/desks/D1/open", json={"queues": ["general"]})
        assert opened.status_code == 200, opened.text
    for n in range(visits):
        body = {"office_id": OFFICES[n % 3], "channel": rng.choice(["kiosk", "desk", "self_service"])}
        vid = (await client.post("/v1/visits", json=body)).json()["visit_id"]
        assert (await client.post(f"/v1/visits/{vid}/call", json={"desk": "D1"})).status_code == 200
        roll = rng.random()
        if roll < 0.5:
            assert (await client.post(f"/v1/visits/{vid}/recall", json={"desk": "D1"})).status_code == 200
        if roll < 0.2:
            assert (await client.post(f"/v1/visits/{vid}/no-show", json={"desk": "D1"})).status_code == 200
            continue
        if roll > 0.7:
            moved = await client.post(f"/v1/visits/{vid}/transfer", json={"queue": "self_service"})
            assert moved.status_code == 200, moved.text
            assert (await client.post(f"/v1/visits/{vid}/call", json={"desk": "D2"})).status_code == 200
        for _ in range(rng.randint(1, 3)):
            question = {"text": rng.choice(QUESTIONS)}
            if rng.random() < 0.5:
                question["personal_identity_number"] = PIN
            assert (await client.post(f"/v1/visits/{vid}/questions", json=question)).status_code == 201
        survey = {"treatment": 5, "time": 4, "got_help": True}
        assert (await client.post(f"/v1/visits/{vid}/end", json={"satisfaction": survey})).status_code == 200
    for office in OFFICES:
        assert (await client.post(f"/v1/offices/{office}/desks/D1/close")).status_code == 200


def accepted(data_dir: Path) -> tuple[Counter, Counter]:
    """What intake accepted and routing decided, read from their own event stores."""
    with sqlite3.connect(data_dir / "intake.db") as db:
        kinds = Counter(t for (t,) in db.execute("SELECT event_type FROM event_store"))
    with sqlite3.connect(data_dir / "routing.db") as db:
        decided = Counter(
            (p["agency"], p["case_type"], p["level"])
            for (p,) in ((json.loads(r),) for (r,) in db.execute(
                "SELECT payload FROM event_store WHERE event_type = 'routing.QuestionClassified'"))
        )
    return kinds, decided


def store(path: Path) -> dict[str, list[tuple]]:
    with sqlite3.connect(path) as db:
        return {t: sorted(db.execute(f"SELECT * FROM {t}").fetchall(), key=repr)
                for t in ("reporting_visits", "reporting_questions", "agg_office_day",
                          "dim_office", "dim_date", *DAY_TABLES)}


async def summary_and_mix(runtime: ServiceRuntime) -> tuple[dict, Counter]:
    async with api_client(runtime) as client:
        summary = (await client.get("/v1/stats/summary")).json()
        rows = (await client.get("/v1/stats/case-types")).json()["rows"]
    return summary, Counter({(r["agency"], r["case_type"], r["level"]): r["questions"] for r in rows})


def reporting(data_dir: Path) -> ServiceRuntime:
    return reporting_bootstrap(ReportingSettings(
        data_dir=data_dir, reporting_database_url=sqlite_url(data_dir / "reporting.db")))


async def test_figures_match_intake_after_a_crash_and_after_a_replay(tmp_path: Path) -> None:
    intake = intake_bootstrap(IntakeSettings(data_dir=tmp_path))
    routing = routing_bootstrap(RoutingSettings(data_dir=tmp_path))
    for runtime in (intake, routing):
        await runtime.init_db()
    async with api_client(intake) as client:
        await drive(client, random.Random(42), 12)
    await pump(routing.consumers[0], {topics.INTAKE: intake})

    first = reporting(tmp_path)
    await first.init_db()
    consumer, factory, commits = first.consumers[0], first.consumers[0].uow_factory, [0]

    def crashing_factory():
        uow, commit = factory(), None
        commit = uow.commit

        async def crash_on_fifth() -> None:
            commits[0] += 1
            if commits[0] == 5:
                raise Crash()
            await commit()

        uow.commit = crash_on_fifth
        return uow

    consumer.uow_factory = crashing_factory
    with pytest.raises(Crash):
        await pump(consumer, {topics.INTAKE: intake, topics.ROUTING: routing})
    await first.close()

    restarted = reporting(tmp_path)
    await restarted.init_db()
    producers = {topics.INTAKE: intake, topics.ROUTING: routing}
    await pump(restarted.consumers[0], producers)
    await restarted.deps.refresh()
    kinds, decided = accepted(tmp_path)
    summary, mix = await summary_and_mix(restarted)
    assert summary["visits"] == kinds["intake.VisitRegistered"] == 12
    assert summary["visits_ended"] == kinds["intake.VisitEnded"]
    assert summary["questions"] == kinds["intake.QuestionRecorded"] == sum(decided.values())
    assert mix == decided
    live = store(tmp_path / "reporting.db")
    assert sum(r[2] for r in live["agg_office_day"]) == 12
    with sqlite3.connect(tmp_path / "reporting.db") as db:
        flow = db.execute("SELECT COUNT(*), SUM(no_show), SUM(transfers), SUM(recalls) FROM reporting_visit_flow").fetchone()
        closed = db.execute("SELECT COUNT(*) FROM reporting_desk_sessions WHERE staffed_seconds >= 0").fetchone()
    assert flow == (12, kinds["intake.VisitMarkedNoShow"], kinds["intake.VisitTransferred"],
                    kinds["intake.VisitRecalled"]) and closed == (3,)
    assert flow[1] and flow[2] and flow[3], "the day had no-shows, transfers and recalls"

    result = await replay(restarted.engine, logs(tmp_path), TZ, restarted.deps.costs)
    assert (result.visits, result.events_invalid) == (12, 0)
    assert store(tmp_path / "reporting.db") == live, "the replay rebuilds what the consumer built"
    assert await summary_and_mix(restarted) == (summary, mix)
    handled = restarted.consumers[0].handled
    await pump(restarted.consumers[0], producers)
    assert restarted.consumers[0].handled == handled, "after a replay nothing is applied twice"
    for runtime in (restarted, intake, routing):
        await runtime.close()
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("reporting.db*"))
    assert b"umea" in raw and PIN.encode() not in raw and b"198112189876" not in raw


def shuffled_copy(source: Path, target: Path, rng: random.Random) -> None:
    """The same log, out of order and with a quarter of its events published twice."""
    target.mkdir()
    for name in ("intake.db", "routing.db", "agency_gateway.db"):
        with sqlite3.connect(source / name) as db:
            schema = db.execute("SELECT sql FROM sqlite_master WHERE name = 'event_store'").fetchone()[0]
            rows = db.execute("SELECT event_id, event_type, schema_version, stream_id, stream_version,"
                              " occurred_at, correlation_id, causation_id, producer, payload"
                              " FROM event_store").fetchall()
        copies = [(f"dup-{r[0]}", *r[1:4], r[4] + 10_000, *r[5:]) for r in rng.sample(rows, len(rows) // 4)]
        rows += copies
        rng.shuffle(rows)
        with sqlite3.connect(target / name) as db:
            db.execute(schema)
            db.executemany("INSERT INTO event_store (event_id, event_type, schema_version, stream_id,"
                           " stream_version, occurred_at, correlation_id, causation_id, producer,"
                           " payload) VALUES (?,?,?,?,?,?,?,?,?,?)", rows)
        db.close()


async def test_a_replay_handles_events_out_of_order_duplicates_and_passes(tmp_path: Path) -> None:
    history = write_history(tmp_path / "a", 300, seed=8, days=20)
    shuffled_copy(tmp_path / "a", tmp_path / "b", random.Random(1))
    stores = []
    for name in ("a", "b"):
        runtime = reporting(tmp_path / name)
        await runtime.init_db()
        # The shuffled copy is also folded in three passes (the memory bound).
        await replay(runtime.engine, logs(tmp_path / name), TZ, None, partitions=1 if name == "a" else 3)
        summary, mix = await summary_and_mix(runtime)
        assert summary["visits"] == history.visits and summary["questions"] == history.questions
        assert mix == history.by_case_type
        await runtime.close()
        stores.append(store(tmp_path / name / "reporting.db"))
    assert stores[0] == stores[1]


class BrokenLog(SqliteEventLog):
    async def batches(self, size: int = 20_000):
        async for batch in super().batches(50):
            yield batch
            raise OSError("disk gone")


async def test_a_failed_replay_leaves_the_old_store_and_positions(tmp_path: Path) -> None:
    write_history(tmp_path, 40, seed=3, days=5)
    runtime = reporting(tmp_path)
    await runtime.init_db()
    await replay(runtime.engine, logs(tmp_path), TZ, None)
    before = store(tmp_path / "reporting.db")
    positions = await runtime.consumers[0].positions()
    broken = [BrokenLog(tmp_path / "intake.db", topics.INTAKE)]
    with pytest.raises(OSError):
        await replay(runtime.engine, broken, TZ, None)
    assert store(tmp_path / "reporting.db") == before
    assert await runtime.consumers[0].positions() == positions
    assert positions[(topics.INTAKE, 0)] > 0
    await runtime.close()
