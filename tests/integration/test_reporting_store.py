"""The reporting store as BI tools and analysts see it: the docs' SQL recipes reproduce
the API's case-type shares and cost split; aggregates, views, analysis endpoints and
exports agree with counts taken straight from the event logs; no personal data anywhere."""

from __future__ import annotations

import asyncio
import io
import json
import re
import sqlite3
import statistics
from collections import Counter
from pathlib import Path
from zoneinfo import ZoneInfo

import pyarrow.parquet as pq
import pytest

from servicekontor.synthetic_history import History, write_history
from servicekontor.synthetic_visits import PINS
from services.reporting.adapters.cost_config import SAMPLE
from services.reporting.adapters.event_log import SqliteEventLog
from services.reporting.bootstrap import bootstrap
from services.reporting.config import ReportingSettings
from services.reporting.handlers.replay import replay
from shared import topics
from shared.db import sqlite_url
from shared.runtime import ServiceRuntime
from tests.helpers import api_client

DOCS = Path(__file__).resolve().parents[2] / "docs" / "reporting.md"
T1 = {"from": "2026-01-01", "to": "2026-04-30"}
SECRETS = [*PINS, *(f"{p[:8]}-{p[8:]}" for p in PINS), *(f"{p[2:8]}-{p[8:]}" for p in PINS),
           "Fråga om", "Anna Andersson", "Besökaren", "503 from agency", "ord: "]


def settings(data_dir: Path, costs: Path | None = SAMPLE) -> ReportingSettings:
    return ReportingSettings(data_dir=data_dir, reporting_costs_file=costs,
                             reporting_database_url=sqlite_url(data_dir / "reporting.db"))


async def build(data_dir: Path) -> History:
    history = write_history(data_dir, 400, seed=31, days=150, office_count=6)
    runtime = bootstrap(settings(data_dir))
    await runtime.init_db()
    logs = [SqliteEventLog(data_dir / f, t) for f, t in (
        ("intake.db", topics.INTAKE), ("routing.db", topics.ROUTING),
        ("agency_gateway.db", topics.GATEWAY))]
    await replay(runtime.engine, logs, ZoneInfo("Europe/Stockholm"), runtime.deps.costs)
    await runtime.close()
    return history


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, History]:
    data_dir = tmp_path_factory.mktemp("store")
    return data_dir, asyncio.run(build(data_dir))


@pytest.fixture
async def api(built):
    runtime = bootstrap(settings(built[0]))
    async with api_client(runtime) as client:
        yield client
    await runtime.close()


def sql(data_dir: Path, query: str, params: dict | None = None) -> list[tuple]:
    with sqlite3.connect(f"file:{data_dir / 'reporting.db'}?mode=ro", uri=True) as db:
        return db.execute(query, params or {}).fetchall()


def recipe(name: str) -> str:
    blocks = re.findall(r"```sql\n(.*?)```", DOCS.read_text(encoding="utf-8"), re.S)
    return next(b for b in blocks if f"-- recipe: {name}" in b)


def raw_events(data_dir: Path) -> list[tuple[str, dict]]:
    out = []
    for name in ("intake.db", "routing.db", "agency_gateway.db"):
        with sqlite3.connect(data_dir / name) as db:
            out += [(t, json.loads(p)) for t, p in db.execute("SELECT event_type, payload FROM event_store")]
    return out


async def test_the_docs_recipe_reproduces_the_case_type_shares(built, api) -> None:
    data_dir, history = built
    rows = sql(data_dir, recipe("case_type_shares"), T1)
    answer = (await api.get("/v1/stats/case-types", params={**T1, "group_by": "agency,case_type"})).json()
    assert [(a, c, n, round(s, 4)) for a, _, c, _, n, s, _ in rows] == [
        (r["agency"], r["case_type"], r["questions"], r["share"]) for r in answer["rows"]
    ]
    assert any(r[6] for r in rows), "the sources' shares sit beside the measured ones"
    asked = [p["recorded_at"][:10] for t, p in raw_events(data_dir) if t == "intake.QuestionRecorded"]
    # Questions are asked 9-16 local time, so the UTC day is the local day.
    assert sum(r[4] for r in rows) == sum(1 for day in asked if T1["from"] <= day <= T1["to"])


async def test_the_docs_recipe_reproduces_the_agency_cost_split(built, api) -> None:
    data_dir, _ = built
    from_recipe = {a: round(total, 2) for a, _, _, total, _ in sql(data_dir, recipe("agency_cost_split"), T1)}
    report = (await api.get("/v1/costs/allocation", params=T1)).json()
    assert from_recipe == {a["agency"]: a["total"] for a in report["agencies"]}
    table = sql(data_dir, "SELECT agency, SUM(total_sek) FROM cost_allocation WHERE "
                          "period_from >= :from AND period_to <= :to GROUP BY agency", T1)
    assert {a: round(v, 2) for a, v in table} == from_recipe
    # The six offices with visits take the default ("*": 1.5 MSEK a year, 960 000 for the
    # tertial); the three named offices have their own costs, and no visits yet.
    days = 120 / 365
    named = (4_200_000 * days + 2_900_000) + (3_100_000 * days + 2_100_000) + (900_000 * days + 420_000)
    assert report["total"] == pytest.approx(6 * (1_500_000 * days + 960_000) + named, abs=0.05)
    basis = {o["office_id"]: o["variable_basis"] for o in report["offices"]}
    assert basis["office-001"] == "case_mix" and basis["kiruna"] == "even_split"
    fixed = {a["agency"]: a["fixed"] for a in report["agencies"]}
    assert fixed["forsakringskassan"] == fixed["skatteverket"] == fixed["pensionsmyndigheten"]
    assert fixed["migrationsverket"] == round(900_000 * days / 4, 2), "shares Kiruna's premises"


async def test_aggregates_dimensions_and_views_agree_with_the_facts(built) -> None:
    data_dir, history = built
    assert sql(data_dir, "SELECT SUM(visits), SUM(questions) FROM agg_office_day") == [
        (history.visits, history.questions)]
    by_type = sql(data_dir, "SELECT agency, case_type, level, SUM(questions) FROM agg_case_type_day "
                            "GROUP BY agency, case_type, level")
    assert Counter({(a, c, lv): n for a, c, lv, n in by_type}) == history.by_case_type
    assert sql(data_dir, "SELECT COUNT(*) FROM dim_office") == [(6,)]
    assert sql(data_dir, "SELECT COUNT(*) FROM dim_date") == sql(
        data_dir, "SELECT COUNT(DISTINCT service_day) FROM reporting_visits")
    assert sql(data_dir, "SELECT round(SUM(share), 6) FROM v_case_type_shares") == [(1.0,)]
    views = [n for (n,) in sql(data_dir, "SELECT name FROM sqlite_master WHERE type = 'view'")]
    assert len(views) >= 15
    for view in views:
        assert sql(data_dir, f"SELECT COUNT(*) FROM {view}")[0][0] > 0, view
    assert sql(data_dir, "SELECT COUNT(*) FROM reporting_dirty_days") == [(0,)]


async def test_analysis_endpoints_match_counts_from_the_raw_logs(built, api) -> None:
    data_dir, history = built
    events = raw_events(data_dir)
    kinds = Counter(t for t, _ in events)
    forwarding = (await api.get("/v1/stats/forwarding")).json()["rows"]
    assert sum(r["delivered"] for r in forwarding) == kinds["gateway.CaseForwarded"]
    assert sum(r["dead_lettered"] for r in forwarding) == kinds["gateway.CaseDeadLettered"]
    assert sum(r["failed_attempts"] for r in forwarding) == (
        kinds["gateway.CaseForwardingFailed"] + kinds["gateway.CaseDeadLettered"])
    overrides = (await api.get("/v1/stats/overrides")).json()
    assert overrides["overridden"] == kinds["routing.ClassificationOverridden"]
    assert overrides["classified"] == kinds["routing.QuestionClassified"] == history.questions
    routed = Counter((p["agency"], p["destination"]) for t, p in events if t == "routing.CaseRoutedToAgency")
    destinations = (await api.get("/v1/stats/destinations")).json()["rows"]
    assert Counter({(r["agency"], r["destination"]): r["questions"] for r in destinations}) == routed
    survey = [p for t, p in events if t == "intake.VisitEnded" and p["satisfaction"]]
    satisfaction = (await api.get("/v1/stats/satisfaction")).json()["rows"][0]
    assert satisfaction["answers"] == len(survey)
    helped = sum(p["satisfaction"]["got_help"] for p in survey)
    assert satisfaction["got_help_share"] == round(helped / len(survey), 4)
    hours = (await api.get("/v1/stats/time-of-day")).json()
    assert sum(hours["by_hour"]) == sum(hours["by_weekday"]) == history.visits
    waits = sorted(w for (w,) in sql(data_dir, "SELECT wait_seconds FROM reporting_visits"))
    waiting = (await api.get("/v1/stats/waiting", params={"group_by": "all"})).json()["rows"][0]
    assert waiting["median_wait_seconds"] == round(statistics.median(waits), 1)
    assert waiting["p90_wait_seconds"] == round(waits[-(-9 * len(waits) // 10) - 1], 1)
    assert waiting["questions_per_visit"] == round(history.questions / history.visits, 4)
    trend = (await api.get("/v1/stats/trends", params={"interval": "month", "by": "agency"})).json()
    assert sum(r["visits"] for r in trend["rows"]) == history.visits
    mix = (await api.get("/v1/stats/level-mix", params={"agency": "skatteverket"})).json()["rows"]
    assert mix[0]["questions"] == sum(n for (a, _, _), n in history.by_case_type.items() if a == "skatteverket")


async def test_exports_in_csv_and_parquet_follow_the_filters(built, api) -> None:
    data_dir, _ = built
    params = {"format": "parquet", "agency": "skatteverket", **T1}
    parquet = await api.get("/v1/export/agg_case_type_day", params=params)
    assert parquet.status_code == 200
    table = pq.read_table(io.BytesIO(parquet.content))
    expected = sql(data_dir, "SELECT SUM(questions) FROM agg_case_type_day WHERE agency = "
                             "'skatteverket' AND service_day BETWEEN :from AND :to", T1)[0][0]
    assert set(table.column("agency").to_pylist()) == {"skatteverket"}
    assert sum(table.column("questions").to_pylist()) == expected > 0
    csv_text = (await api.get("/v1/export/reporting_visits", params={"office_id": "office-002"})).text
    lines = csv_text.strip().splitlines()
    assert lines[0].startswith("visit_id,office_id,channel")
    assert len(lines) - 1 == sql(data_dir, "SELECT COUNT(*) FROM reporting_visits WHERE office_id = 'office-002'")[0][0]
    assert (await api.get("/v1/export/inbox")).status_code == 404


async def test_no_personal_data_in_the_store_its_exports_or_answers(built, api) -> None:
    data_dir, _ = built
    assert any(PINS[0] in p.get("text", "") or p.get("personal_identity_number") == PINS[0]
               for _, p in raw_events(data_dir)), "the history does carry identity numbers"
    seen = b"".join(p.read_bytes() for p in data_dir.glob("reporting.db*"))
    for table in (await api.get("/v1/export/tables")).json()["rows"]:
        seen += (await api.get(f"/v1/export/{table}")).content
    for path in ("/v1/stats/case-types", "/v1/stats/overrides", "/v1/stats/forwarding",
                 "/v1/stats/destinations", "/v1/stats/visits?group_by=office", "/dashboard"):
        seen += (await api.get(path)).content
    assert b"REF-" in seen, "the scan reads stored rows"
    for secret in SECRETS:
        assert secret.encode() not in seen, secret


@pytest.mark.parametrize("path,status", [
    ("/v1/stats/trends?interval=year", 422), ("/v1/stats/waiting?case_type=nope", 422),
    ("/v1/costs/allocation", 422), ("/v1/costs/allocation?from=2026-01-01&to=2026-01-31&agency=polisen", 422),
    ("/v1/export/nope", 404), ("/v1/export/reporting_visits?format=xlsx", 422),
    ("/v1/stats/visits?group_by=office&level=hard", 422),
])
async def test_bad_parameters_get_a_json_error(api, path: str, status: int) -> None:
    response = await api.get(path)
    assert response.status_code == status
    assert response.json()["error"]["message"]


async def test_the_dashboard_is_one_self_contained_page(api) -> None:
    page = await api.get("/dashboard")
    assert page.status_code == 200 and "connect-src 'self'" in page.headers["content-security-policy"]
    assert not re.search(r"(src|href)=\"?(https?:)?//", page.text), "nothing is loaded from elsewhere"
    assert "Försäkringskassan" in page.text and "__CATALOG__" not in page.text


async def test_without_a_cost_file_the_allocation_says_so(built) -> None:
    runtime: ServiceRuntime = bootstrap(
        settings(built[0], costs=None).model_copy(update={"reporting_shipped_costs": False}))
    async with api_client(runtime) as client:
        response = await client.get("/v1/costs/allocation", params=T1)
    await runtime.close()
    assert response.status_code == 404 and "SK_REPORTING_COSTS_FILE" in response.json()["error"]["message"]


async def test_the_embedded_default_ships_the_sources_costs(built) -> None:
    runtime: ServiceRuntime = bootstrap(settings(built[0], costs=None))
    async with api_client(runtime) as client:
        report = (await client.get("/v1/costs/allocation", params={"from": "2026-01-01", "to": "2026-12-31"})).json()
    await runtime.close()
    # 447 MSEK a year for 103 offices: each office of the store carries its 103rd.
    assert round(report["total"] / len(report["offices"])) == 4_339_900
    assert {a["agency"] for a in report["agencies"]} >= {"forsakringskassan", "skatteverket", "pensionsmyndigheten"}
