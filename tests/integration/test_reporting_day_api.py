"""The office day through reporting's API and SQL on SQLite: ``/v1/stats/waits`` per
office, queue, hour and weekday agrees with the raw event logs and with the facts; office
names come from the registry; satisfaction per agency; bad queries get a 4xx JSON error."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import statistics
from collections import Counter
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from servicekontor.synthetic_history import History, write_history
from services.reporting.adapters.event_log import SqliteEventLog
from services.reporting.bootstrap import bootstrap
from services.reporting.config import ReportingSettings
from services.reporting.handlers.replay import replay
from shared import topics
from shared.db import sqlite_url
from tests.helpers import api_client

TZ = ZoneInfo("Europe/Stockholm")
OFFICES = ["lulea", "umea", "ostersund"]


def settings(data_dir: Path) -> ReportingSettings:
    return ReportingSettings(data_dir=data_dir, reporting_database_url=sqlite_url(data_dir / "reporting.db"))


async def build(data_dir: Path) -> History:
    history = write_history(data_dir, 300, seed=5, first_day=date(2026, 9, 1), days=30, office_names=OFFICES)
    runtime = bootstrap(settings(data_dir))
    await runtime.init_db()
    logs = [SqliteEventLog(data_dir / f, t) for f, t in (
        ("intake.db", topics.INTAKE), ("routing.db", topics.ROUTING), ("agency_gateway.db", topics.GATEWAY))]
    await replay(runtime.engine, logs, TZ, runtime.deps.costs)
    await runtime.close()
    return history


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, History]:
    data_dir = tmp_path_factory.mktemp("day")
    return data_dir, asyncio.run(build(data_dir))


@pytest.fixture
async def api(built):
    runtime = bootstrap(settings(built[0]))
    async with api_client(runtime) as client:
        yield client
    await runtime.close()


def intake_events(data_dir: Path) -> list[tuple[str, dict]]:
    with sqlite3.connect(data_dir / "intake.db") as db:
        return [(t, json.loads(p)) for t, p in db.execute("SELECT event_type, payload FROM event_store")]


def first_waits(events: list[tuple[str, dict]]) -> dict[str, list[float]]:
    """Registered → first call, per office, computed here from the raw log."""
    registered, called = {}, {}
    for kind, p in events:
        if kind == "intake.VisitRegistered":
            registered[p["visit_id"]] = (p["office_id"], datetime.fromisoformat(p["registered_at"]))
        elif kind == "intake.VisitCalled":
            at = datetime.fromisoformat(p["called_at"])
            called[p["visit_id"]] = min(at, called.get(p["visit_id"], at))
    waits: dict[str, list[float]] = {}
    for vid, (office, at) in registered.items():
        if vid in called:
            waits.setdefault(office, []).append((called[vid] - at).total_seconds())
    return waits


async def test_waits_per_office_agree_with_the_raw_log(built, api) -> None:
    data_dir, history = built
    events = intake_events(data_dir)
    kinds = Counter(k for k, _ in events)
    response = await api.get("/v1/stats/waits", params={"group_by": "office"})
    assert response.status_code == 200, response.text
    rows = {r["office_id"]: r for r in response.json()["rows"]}
    assert set(rows) == set(OFFICES) and rows["lulea"]["office_name"] == "Luleå"
    assert sum(r["visits"] for r in rows.values()) == history.visits
    assert sum(r["no_shows"] for r in rows.values()) == kinds["intake.VisitMarkedNoShow"] > 0
    assert sum(r["transfers"] for r in rows.values()) == kinds["intake.VisitTransferred"] > 0
    assert sum(r["recalls"] for r in rows.values()) == kinds["intake.VisitRecalled"] > 0
    channels = Counter(p["channel"] for k, p in events if k == "intake.VisitRegistered")
    assert {c: sum(r["channels"][c] for r in rows.values()) for c in channels} == channels
    assert channels["self_service"] > 0
    for office, waits in first_waits(events).items():
        assert rows[office]["mean_wait_minutes"] == round(statistics.fmean(waits) / 60, 3)
        assert rows[office]["median_wait_minutes"] == round(statistics.median(waits) / 60, 3)
        assert rows[office]["p90_wait_minutes"] >= rows[office]["median_wait_minutes"] > 0
        assert rows[office]["mean_service_minutes"] > 0


async def test_waits_by_queue_hour_and_weekday_cover_the_same_visits(built, api) -> None:
    _, history = built
    for group_by, key in (("queue", "queue"), ("hour", "hour"), ("weekday", "weekday")):
        rows = (await api.get("/v1/stats/waits", params={"group_by": group_by})).json()["rows"]
        assert sum(r["visits"] for r in rows) == history.visits, group_by
        assert all(r[key] is not None for r in rows)
    queues = {r["queue"]: r for r in (await api.get("/v1/stats/waits", params={"group_by": "queue"})).json()["rows"]}
    assert {"general", "self_service"} <= set(queues)
    hours = [r["hour"] for r in (await api.get("/v1/stats/waits", params={"group_by": "hour"})).json()["rows"]]
    assert min(hours) >= 9 and max(hours) <= 16  # local time: the synthetic day is 09–16
    one = (await api.get("/v1/stats/waits", params={"office_id": "umea", "from": "2026-09-01", "to": "2026-09-10"})).json()
    assert [r["office_id"] for r in one["rows"]] == ["umea"] and one["rows"][0]["visits"] < history.by_office["umea"]


@pytest.mark.parametrize("query", [
    {"group_by": "desk"}, {"agency": "skatteverket"}, {"from": "2026-10-01", "to": "2026-09-01"},
    {"office_id": "NOT AN ID"},
])
async def test_bad_waits_queries_get_a_json_error(api, query: dict) -> None:
    response = await api.get("/v1/stats/waits", params=query)
    assert response.status_code == 422 and "error" in response.json(), response.text


async def test_satisfaction_per_agency_counts_each_agency_of_a_visit(built, api) -> None:
    rows = (await api.get("/v1/stats/satisfaction", params={"group_by": "agency"})).json()["rows"]
    agencies = {r["agency"] for r in rows}
    assert {"forsakringskassan", "skatteverket", "pensionsmyndigheten"} <= agencies
    total = (await api.get("/v1/stats/satisfaction")).json()["rows"][0]["answers"]
    assert sum(r["answers"] for r in rows) >= total and all(0 <= r["got_help_share"] <= 1 for r in rows)


def sql(data_dir: Path, query: str) -> list[tuple]:
    with sqlite3.connect(f"file:{data_dir / 'reporting.db'}?mode=ro", uri=True) as db:
        return db.execute(query).fetchall()


async def test_tables_and_views_for_bi_tools(built) -> None:
    data_dir, history = built
    offices = sql(data_dir, "SELECT office_id, name, county, lead_agency FROM dim_office ORDER BY office_id")
    assert offices == [("lulea", "Luleå", "Norrbotten", "skatteverket"),
                       ("ostersund", "Östersund", "Jämtland", "forsakringskassan"),
                       ("umea", "Umeå", "Västerbotten", "forsakringskassan")]
    assert sql(data_dir, "SELECT SUM(visits) FROM v_waits_by_office_queue") == [(history.visits,)]
    staffed = sql(data_dir, "SELECT office_name, SUM(staffed_hours), SUM(open_sessions) FROM v_desk_hours_by_office_day "
                            "GROUP BY office_name ORDER BY office_name")
    days = {o: len(set(r[0] for r in sql(data_dir, f"SELECT service_day FROM reporting_visit_flow WHERE office_id = '{o}'")))
            for o in OFFICES}
    # Two desks of 7.5 hours on every day an office had visitors.
    assert {name: round(hours, 3) for name, hours, _ in staffed} == {
        "Luleå": 15 * days["lulea"], "Umeå": 15 * days["umea"], "Östersund": 15 * days["ostersund"]}
    for view in ("v_visit_flow", "v_service_by_office_queue", "v_waits_by_hour_weekday", "v_visits_by_channel",
                 "v_satisfaction_by_agency"):
        assert sql(data_dir, f"SELECT COUNT(*) FROM {view}")[0][0] > 0, view
    raw = b"".join(p.read_bytes() for p in data_dir.glob("reporting.db*"))
    assert b"handlaggare-" not in raw, "no handler in the store"
