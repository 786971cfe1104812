"""``replay reporting`` on PostgreSQL event stores (``SqlEventLog``), and upcasting, on the
suite's real PostgreSQL: intake and routing keep their events in their schemas of one
database; reporting's live consumer projects them into that database's ``reporting``
schema; a replay reads the same logs into another database, and the two stores must be
equal, row for row. One event in intake's store is of an older schema version (as an
older release wrote it): both the live consumer and the replay upcast it and project it."""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg
import pytest

from servicekontor.runner import bootstrap_service, service_settings
from services.intake.domain.events import VisitRegistered
from services.reporting.adapters.event_log import SqlEventLog, event_log
from services.reporting.bootstrap import bootstrap as reporting_bootstrap
from services.reporting.config import ReportingSettings
from services.reporting.handlers.replay import replay
from shared import events, topics
from shared.runtime import ServiceRuntime
from tests.helpers import api_client
from tests.integration.test_reporting_replay import DAY_TABLES, TZ, drive, pump

pytestmark = pytest.mark.realservers

TABLES = ("reporting_visits", "reporting_questions", "agg_office_day", "agg_case_type_day",
          "dim_office", "dim_date", *DAY_TABLES)
OLD_VISIT = str(uuid.uuid4())
OLD_AT = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def v1_to_v2(payload: dict) -> dict:
    """Version 1 of VisitRegistered (as this test pretends an older release wrote it)
    named the office ``office`` and had no service day; version 2 is today's shape."""
    payload = dict(payload)
    payload["office_id"] = payload.pop("office")
    payload["service_day"] = datetime.fromisoformat(payload["registered_at"]).astimezone(TZ).date().isoformat()
    return payload


@pytest.fixture
def visit_registered_has_a_version_2(monkeypatch):
    monkeypatch.setattr(VisitRegistered, "schema_version", 2)
    monkeypatch.setitem(events._upcasters, ("intake.VisitRegistered", 1), v1_to_v2)


async def store_an_old_version_event(dsn: str) -> None:
    payload = {"visit_id": OLD_VISIT, "office": "kiruna", "channel": "desk", "agency": None,
               "ticket": "A999", "registered_at": OLD_AT.isoformat()}
    db = await asyncpg.connect(dsn)
    try:
        await db.execute(
            "INSERT INTO intake.event_store (event_id, event_type, schema_version, stream_id, stream_version,"
            " occurred_at, correlation_id, producer, payload) VALUES ($1, $2, 1, $3, 1, $4, $1, 'intake', $5)",
            str(uuid.uuid4()), "intake.VisitRegistered", OLD_VISIT, OLD_AT, json.dumps(payload),
        )
    finally:
        await db.close()


async def snapshot(dsn: str) -> dict[str, list[tuple]]:
    db = await asyncpg.connect(dsn)
    try:
        # A surrogate key ("id") numbers rows in the order they were written: not a figure.
        return {t: sorted((tuple(v for k, v in r.items() if k != "id")
                           for r in await db.fetch(f"SELECT * FROM reporting.{t}")), key=repr)
                for t in TABLES}
    finally:
        await db.close()


def plain(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


@dataclass
class LiveAndRebuilt:
    """The four services on one fresh database (``live_url``), and a second reporting on
    another fresh database (``replay_url``) for the replay to fill."""

    live_url: str
    replay_url: str
    intake: ServiceRuntime
    routing: ServiceRuntime
    live: ServiceRuntime
    rebuilt: ServiceRuntime


@asynccontextmanager
async def live_and_rebuilt(real_servers, tmp_path) -> AsyncIterator[LiveAndRebuilt]:
    live_url, replay_url = await real_servers.fresh_database(), await real_servers.fresh_database()
    overrides = dict(database_url=live_url, data_dir=tmp_path)
    intake, routing, gateway, live = (bootstrap_service(name, service_settings(name, overrides), None)
                                      for name in ("intake", "routing", "agency_gateway", "reporting"))
    rebuilt = reporting_bootstrap(ReportingSettings(data_dir=tmp_path, reporting_database_url=replay_url))
    runtimes = (intake, routing, gateway, live, rebuilt)
    for runtime in runtimes:
        await runtime.init_db()
    try:
        yield LiveAndRebuilt(live_url, replay_url, intake, routing, live, rebuilt)
    finally:
        for runtime in runtimes:
            await runtime.close()


async def test_a_replay_from_postgresql_event_stores_equals_the_live_projection_and_upcasts_old_events(
    real_servers, tmp_path, visit_registered_has_a_version_2
):
    async with live_and_rebuilt(real_servers, tmp_path) as s:
        intake, routing, live, rebuilt, live_url, replay_url = (
            s.intake, s.routing, s.live, s.rebuilt, s.live_url, s.replay_url)
        async with api_client(intake) as client:
            await drive(client, random.Random(7), 9)
        await store_an_old_version_event(plain(live_url))
        await pump(routing.consumers[0], {topics.INTAKE: intake})
        await pump(live.consumers[0], {topics.INTAKE: intake, topics.ROUTING: routing})
        assert live.consumers[0].dead_lettered == 0
        await live.deps.refresh()
        projected = await snapshot(plain(live_url))

        logs = [event_log(live_url, schema, topic) for schema, topic in
                (("intake", topics.INTAKE), ("routing", topics.ROUTING), ("agency_gateway", topics.GATEWAY))]
        assert all(isinstance(log, SqlEventLog) for log in logs)
        result = await replay(rebuilt.engine, logs, TZ, rebuilt.deps.costs)
        replayed = await snapshot(plain(replay_url))

    assert (result.visits, result.events_invalid) == (10, 0), result
    assert len(projected["reporting_visits"]) == 10 and projected["reporting_questions"]
    assert replayed == projected, "the replay on PostgreSQL rebuilds what the live consumer built"
    old = [row for row in projected["reporting_visits"] if OLD_VISIT in row]
    assert len(old) == 1 and "kiruna" in old[0] and OLD_AT.astimezone(TZ).date().isoformat() in old[0], old
