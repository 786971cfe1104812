"""The steering figures on a small hand-made history, computed by hand below: workload
and cost, quality, repeat contacts (14 and 30 days) and unlinked visits; the live
consumer builds the same steering facts as the replay; an erased visit loses its link;
the reporting store never holds an identity number; bad queries get a 4xx JSON error.

History (UTC; March in Stockholm is UTC+1, so every time is the same local day). Costs:
365 000 SEK a year fixed and 31 000 SEK for March variable per office, so the period
2026-03-02..31 (30 days) costs 30 000 + 30 000 = 60 000 SEK per office.

| visit | office | day   | shown | wait | service | questions (person, agency/case, outcome)          | survey      |
|-------|--------|-------|-------|------|---------|---------------------------------------------------|-------------|
| V1    | lulea  | 03-02 | 5     | 10   | 20      | P1 skv/folkbokforing answered                     | 5, 4, yes   |
| V2    | lulea  | 03-09 | 10    | 20   | 10      | P1 skv/folkbokforing referred; – fk/bostadsbidrag answered | –  |
| V5    | lulea  | 03-16 | 2     | 2    | 10      | P2 fk/bostadsbidrag answered; then erased         | –           |
| V3    | umea   | 03-25 | –     | 5    | 10      | P1 skv/folkbokforing forwarded, decided 2 days on | 3, 2, no    |
| V4    | umea   | 03-25 | 0     | 0.5  | 10      | – skv/folkbokforing answered                      | –           |

Desks: lulea 7.5 h on each of 03-02, 03-09, 03-16 (22.5 h); umea 4 h on 03-25.
"""

from __future__ import annotations

import asyncio
import json
import math
import sqlite3
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from servicekontor.synthetic_history import _INSERT, _open
from services.intake.adapters.pseudonym import Pseudonymizer
from services.reporting.adapters.event_log import SqliteEventLog
from services.reporting.bootstrap import bootstrap
from services.reporting.config import ReportingSettings
from services.reporting.handlers import event_handlers
from services.reporting.handlers.replay import replay
from shared import topics
from shared.consumer import EventConsumer
from shared.db import sqlite_url
from shared.events import EventEnvelope
from shared.tracking import Checkpoint
from tests.helpers import api_client

TZ = ZoneInfo("Europe/Stockholm")
KEY = b"k" * 32
PINS = {"P1": "198112189876", "P2": "194907281233"}
PSEUDONYMS = {p: Pseudonymizer(KEY).of(pin) for p, pin in PINS.items()}
PERIOD = {"from": "2026-03-02", "to": "2026-03-31"}
Z = 1.959964
SKV, FK = ("skatteverket", "folkbokforing"), ("forsakringskassan", "bostadsbidrag")
COSTS = """currency: SEK
offices:
  "*":
    fixed_per_year: 365000
    variable:
      - {from: 2026-03-01, to: 2026-03-31, amount: 31000}
"""


def iso(t: datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")


def at(day: int, hour: int, minute: float = 0) -> datetime:
    return datetime(2026, 3, day, hour, tzinfo=UTC) + timedelta(minutes=minute)


class Log:
    def __init__(self) -> None:
        self.rows: dict[str, list[tuple]] = {"intake": [], "routing": [], "gateway": []}
        self.versions: dict[str, int] = {}

    def add(self, producer: str, stream: str, kind: str, when: datetime, **payload) -> None:
        self.versions[stream] = self.versions.get(stream, 0) + 1
        event_id = str(uuid.uuid4())
        self.rows[producer].append((
            event_id, f"{producer}.{kind}", 1, stream, self.versions[stream],
            when.replace(tzinfo=None).isoformat(" ", "microseconds"), event_id, None, producer,
            json.dumps(payload, separators=(",", ":"))))

    def visit(self, vid: str, office: str, start: datetime, shown: float | None, wait: float,
              service: float, questions: list[tuple], survey: dict | None) -> None:
        self.add("intake", vid, "VisitRegistered", start, visit_id=vid, office_id=office, channel="kiosk",
                 agency=None, ticket="A001", service_day=start.date().isoformat(), registered_at=iso(start),
                 queue="general", estimated_wait_minutes=shown)
        called = start + timedelta(minutes=wait)
        self.add("intake", vid, "VisitCalled", called, visit_id=vid, desk="D1", called_at=iso(called),
                 office_id=office, queue="general")
        for n, (person, (agency, case_type), outcome) in enumerate(questions):
            qid, t = f"{vid}-q{n}", called + timedelta(minutes=1 + n)
            self.add("intake", vid, "QuestionRecorded", t, visit_id=vid, question_id=qid, office_id=office,
                     text="fråga", agency=None, case_type=None,
                     personal_identity_number="sealed" if person else None, recorded_at=iso(t),
                     person_pseudonym=PSEUDONYMS[person] if person else None)
            level = "complex" if outcome == "forwarded" else "general"
            self.add("routing", qid, "QuestionClassified", t, visit_id=vid, question_id=qid, office_id=office,
                     level=level, agency=agency, case_type=case_type, confidence=0.9, explanation="-",
                     destination="agency_system" if level == "complex" else "office", needs_review=False,
                     model_version="rules-1", classified_at=iso(t))
            self.add("intake", vid, "QuestionResolved", t, visit_id=vid, question_id=qid, outcome=outcome,
                     note=None, resolved_at=iso(t))
            if outcome == "forwarded":
                self.forward(vid, qid, office, agency, case_type, t)
        ended = called + timedelta(minutes=service)
        self.add("intake", vid, "VisitEnded", ended, visit_id=vid, satisfaction=survey, ended_at=iso(ended))

    def forward(self, vid: str, qid: str, office: str, agency: str, case_type: str, t: datetime) -> None:
        ids = {"visit_id": vid, "question_id": qid, "agency": agency}
        self.add("gateway", qid, "CaseQueuedForDelivery", t, **ids, office_id=office, case_type=case_type,
                 queued_at=iso(t))
        self.add("gateway", qid, "CaseForwarded", t, **ids, agency_reference="REF-1", attempt=1,
                 forwarded_at=iso(t))
        for status, days in (("received", 0.5), ("decided", 2), ("closed", 3), ("decided", 4)):
            self.add("gateway", qid, "AgencyCaseUpdated", t + timedelta(days=days), **ids,
                     agency_reference="REF-1", status=status, note=None, callback_id=str(uuid.uuid4()),
                     agency_updated_at=iso(t + timedelta(days=days)), received_at=iso(t + timedelta(days=days)))

    def desk(self, office: str, opened: datetime, hours: float) -> None:
        stream, closed = f"desk:{office}:D1", opened + timedelta(hours=hours)
        self.add("intake", stream, "DeskOpened", opened, office_id=office, desk="D1", queues=["general"],
                 handler="h", opened_at=iso(opened))
        self.add("intake", stream, "DeskClosed", closed, office_id=office, desk="D1", closed_at=iso(closed))


def history() -> Log:
    log = Log()
    for day in (2, 9, 16):
        log.desk("lulea", at(day, 7, 45), 7.5)
    log.desk("umea", at(25, 7, 45), 4)
    log.visit("V1", "lulea", at(2, 9), 5, 10, 20, [("P1", SKV, "answered")], {"treatment": 5, "time": 4, "got_help": True})
    log.visit("V2", "lulea", at(9, 9), 10, 20, 10, [("P1", SKV, "referred"), (None, FK, "answered")], None)
    log.visit("V5", "lulea", at(16, 9), 2, 2, 10, [("P2", FK, "answered")], None)
    log.add("intake", "V5", "PersonalDataErased", at(20, 9), visit_id="V5", actor="admin", erased_at=iso(at(20, 9)))
    log.visit("V3", "umea", at(25, 9), None, 5, 10, [("P1", SKV, "forwarded")], {"treatment": 3, "time": 2, "got_help": False})
    log.visit("V4", "umea", at(25, 10), 0, 0.5, 10, [(None, SKV, "answered")], None)
    return log


FILES = {"intake": "intake.db", "routing": "routing.db", "gateway": "agency_gateway.db"}
TOPICS = {"intake": topics.INTAKE, "routing": topics.ROUTING, "gateway": topics.GATEWAY}


def write(data_dir: Path, log: Log) -> None:
    for producer, name in FILES.items():
        db = _open(data_dir / name)
        db.executemany(_INSERT, log.rows[producer])
        db.commit()
        db.close()


def settings(data_dir: Path) -> ReportingSettings:
    (data_dir / "costs.yaml").write_text(COSTS)
    return ReportingSettings(data_dir=data_dir, reporting_database_url=sqlite_url(data_dir / "reporting.db"),
                             reporting_costs_file=data_dir / "costs.yaml")


async def build(data_dir: Path) -> None:
    write(data_dir, history())
    runtime = bootstrap(settings(data_dir))
    await runtime.init_db()
    logs = [SqliteEventLog(data_dir / FILES[p], TOPICS[p]) for p in FILES]
    await replay(runtime.engine, logs, TZ, runtime.deps.costs)
    await runtime.close()


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("steering")
    asyncio.run(build(path))
    return path


@pytest.fixture
async def api(data_dir):
    runtime = bootstrap(settings(data_dir))
    async with api_client(runtime, role="bi") as client:
        yield client
    await runtime.close()


async def get(api, path: str, **params) -> dict:
    response = await api.get(path, params={**PERIOD, **params})
    assert response.status_code == 200, response.text
    return response.json()


def by(rows: list[dict], key: str = "office_id") -> dict:
    return {r[key]: r for r in rows}


async def test_workload_and_cost_per_office(api) -> None:
    rows = by((await get(api, "/v1/stats/workload", group_by="office"))["rows"])
    lulea, umea = rows["lulea"], rows["umea"]
    assert (lulea["visits"], lulea["questions"], lulea["staffed_hours"]) == (3, 4, 22.5)
    assert lulea["visits_per_staffed_hour"] == round(3 / 22.5, 3)
    assert lulea["questions_per_staffed_hour"] == round(4 / 22.5, 3)
    assert lulea["service_minutes_per_question"] == 10.0  # (20 + 5 + 5 + 10) / 4
    assert lulea["cost_sek"] == 60000 and lulea["cost_per_visit"] == 20000 and lulea["cost_per_question"] == 15000
    assert (umea["visits"], umea["staffed_hours"], umea["visits_per_staffed_hour"]) == (2, 4.0, 0.5)
    assert umea["cost_per_visit"] == 30000
    # fixed split evenly over the three sharing agencies, variable by the case mix (3 skv, 1 fk)
    assert lulea["cost_by_agency"]["skatteverket"] == round(10000 + 30000 * 2 / 4, 2)
    assert lulea["cost_by_agency"]["pensionsmyndigheten"] == 10000


async def test_workload_by_county_and_month(api) -> None:
    counties = (await get(api, "/v1/stats/workload", group_by="county"))["rows"]
    assert sorted((r["county"], r["visits"]) for r in counties) == [("Norrbotten", 3), ("Västerbotten", 2)]
    [march] = (await get(api, "/v1/stats/workload", group_by="month"))["rows"]
    assert (march["month"], march["visits"], march["cost_sek"], march["staffed_hours"]) == ("2026-03", 5, 120000, 26.5)


async def test_service_time_per_question_by_level_and_agency(api) -> None:
    answer = await get(api, "/v1/stats/workload", group_by="office")
    lulea = {(r["level"], r["agency"]): r for r in answer["service_time"] if r["office_id"] == "lulea"}
    assert lulea[("general", "skatteverket")]["minutes_per_question"] == 12.5  # 20 and 5
    assert lulea[("general", "forsakringskassan")]["minutes_per_question"] == 7.5  # 5 and 10


async def test_quality_per_office(api) -> None:
    rows = by((await get(api, "/v1/stats/quality", group_by="office"))["rows"])
    lulea, umea = rows["lulea"], rows["umea"]
    assert (lulea["resolved"], lulea["answered"], lulea["referred"]) == (4, 3, 1)
    assert lulea["first_contact_resolution"] == 0.75
    assert lulea["answered_came_back"] == 1 and lulea["first_contact_resolution_net"] == 0.5  # P1 came back
    assert (lulea["called"], lulea["within_target"], lulea["within_target_share"]) == (3, 2, 0.6667)
    assert lulea["mean_estimate_error_minutes"] == 5.0  # (10-5 + 20-10 + 2-2) / 3
    survey = lulea["survey"]
    assert (survey["ended_visits"], survey["answers"], survey["response_rate"]) == (3, 1, 0.3333)
    assert survey["got_help"] == {"share": 1.0, "ci_low": round(1 / (1 + Z * Z), 4), "ci_high": 1.0}
    assert survey["too_few_answers"] is True
    assert umea["first_contact_resolution"] == 0.5 and umea["within_target_share"] == 1.0
    assert umea["estimates"] == 1 and umea["mean_estimate_error_minutes"] == 0.5
    assert (umea["cases_forwarded"], umea["cases_decided"], umea["median_decision_days"]) == (1, 1, 2.0)
    assert umea["survey"]["got_help"]["ci_high"] == round(Z * Z / (1 + Z * Z), 4)


async def test_quality_per_agency(api) -> None:
    rows = by((await get(api, "/v1/stats/quality", group_by="agency"))["rows"], "agency")
    skv, fk = rows["skatteverket"], rows["forsakringskassan"]
    assert (skv["questions"], skv["answered"], skv["visits"]) == (4, 2, 4)  # V1, V2, V3, V4
    assert skv["median_decision_days"] == 2.0
    assert (fk["questions"], fk["visits"], fk["within_target"]) == (2, 2, 1)  # V2 waited 20 min


async def test_repeat_contacts_within_30_and_14_days(api) -> None:
    answer = await get(api, "/v1/stats/repeat-contacts", days="30", group_by="office")
    lulea, umea = by(answer["rows"])["lulea"], by(answer["rows"])["umea"]
    assert (lulea["contacts"], lulea["linked_contacts"], lulea["unlinked_contacts"]) == (4, 2, 2)
    assert (lulea["repeat_contacts"], lulea["repeat_share"], lulea["multi_agency_visits"]) == (1, 0.5, 1)
    assert (umea["contacts"], umea["repeat_contacts"], umea["persons"]) == (2, 1, 1)  # V3: 16 days after V2
    totals = answer["totals"]
    assert (totals["visits"], totals["unlinked_visits"], totals["unlinked_share"]) == (5, 2, 0.4)
    assert (totals["multi_agency_visits"], totals["multi_agency_share"]) == (1, 0.2)
    fourteen = by((await get(api, "/v1/stats/repeat-contacts", days="14", group_by="office"))["rows"])
    assert (fourteen["lulea"]["repeat_contacts"], fourteen["umea"]["repeat_contacts"]) == (1, 0)
    cases = (await get(api, "/v1/stats/repeat-contacts", days="30", group_by="case_type"))["rows"]
    folk = next(r for r in cases if r["case_type"] == "folkbokforing")
    assert (folk["contacts"], folk["repeat_contacts"]) == (4, 2)


async def test_an_erased_visit_has_no_link_and_no_identity_number_is_stored(data_dir) -> None:
    with sqlite3.connect(data_dir / "reporting.db") as db:
        links = dict(db.execute("SELECT visit_id, person_pseudonym FROM reporting_person_links"))
        dump = "\n".join(db.iterdump())
    assert set(links) == {"V1", "V2", "V3"} and links["V1"] == PSEUDONYMS["P1"]
    assert PSEUDONYMS["P2"] not in dump
    assert not any(pin in dump or pin[2:] in dump for pin in PINS.values())


async def live_store(data_dir: Path, log: Log) -> dict[str, list]:
    """The live consumer over the same events, in log order per topic."""
    runtime = bootstrap(settings(data_dir))
    await runtime.init_db()
    consumer = EventConsumer("reporting", list(topics.ALL), runtime.uow_factory, event_handlers(TZ))
    for producer, rows in log.rows.items():
        batch = []
        for position, (eid, kind, version, stream, sv, occurred, corr, _c, prod, payload) in enumerate(rows, 1):
            envelope = EventEnvelope(event_id=uuid.UUID(eid), event_type=kind, schema_version=version, stream_id=stream,
                                     stream_version=sv, occurred_at=datetime.fromisoformat(occurred).replace(tzinfo=UTC),
                                     correlation_id=uuid.UUID(corr), producer=prod, payload=json.loads(payload))
            batch.append((envelope, Checkpoint(TOPICS[producer], 0, position)))
        await consumer.handle_batch(batch)
        await consumer.handle_batch(batch[:3])  # redelivered: nothing changes
    await runtime.close()
    return steering_rows(data_dir / "reporting.db")


def steering_rows(path: Path) -> dict[str, list]:
    with sqlite3.connect(path) as db:
        return {t: sorted(db.execute(f"SELECT * FROM {t}").fetchall()) for t in
                ("reporting_wait_estimates", "reporting_person_links", "reporting_agency_decisions")}


async def test_the_live_consumer_builds_what_the_replay_builds(data_dir, tmp_path) -> None:
    live = await live_store(tmp_path, history())
    assert live == steering_rows(data_dir / "reporting.db")
    assert len(live["reporting_person_links"]) == 3 and len(live["reporting_agency_decisions"]) == 1


@pytest.mark.parametrize(("path", "params"), [
    ("/v1/stats/workload", {"group_by": "agency"}),
    ("/v1/stats/quality", {"from": "2026-03-31", "to": "2026-03-01"}),
    ("/v1/stats/repeat-contacts", {"days": "7"}),
    ("/v1/stats/repeat-contacts", {"from": "not-a-day"}),
    ("/v1/forecast/visits", {"office_id": "lulea", "days": 15}),
    ("/v1/forecast/visits", {}),
    ("/v1/forecast/staffing", {"office_id": "lulea", "date": "2099-01-01"}),
])
async def test_bad_queries_get_a_json_error(api, path, params) -> None:
    response = await api.get(path, params=params)
    assert 400 <= response.status_code < 500 and "error" in response.json(), response.text


async def test_forecast_of_an_office_without_visits_is_404(api) -> None:
    response = await api.get("/v1/forecast/visits", params={"office_id": "kiruna"})
    assert response.status_code == 404 and "error" in response.json()


async def test_each_figure_exports_as_csv_and_parquet_and_is_audited(data_dir) -> None:
    runtime = bootstrap(settings(data_dir))
    async with api_client(runtime, role="admin") as client:
        response = await client.get("/v1/export/steering/quality", params={**PERIOD, "group_by": "office"})
        assert response.status_code == 200, response.text
        lines = response.text.splitlines()
        header = lines[0].split(",")
        lulea = dict(zip(header, next(r for r in lines[1:] if r.startswith("lulea")).split(","), strict=True))
        assert lulea["first_contact_resolution"] == "0.75" and lulea["survey.got_help.share"] == "1.0"
        for figure in ("workload", "repeat-contacts"):
            parquet = await client.get(f"/v1/export/steering/{figure}", params={**PERIOD, "format": "parquet"})
            assert parquet.status_code == 200 and parquet.content[:4] == b"PAR1"
        bad = await client.get("/v1/export/steering/quality", params={"group_by": "month"})
        assert bad.status_code == 422 and "error" in bad.json()
        audit = (await client.get("/v1/audit", params={"action": "export"})).json()
    await runtime.close()
    assert {"steering_quality", "steering_workload", "steering_repeat_contacts"} <= {e["subject"] for e in audit["rows"]}


async def test_forecast_and_staffing_on_a_short_history(api) -> None:
    """Under four weeks of history: the mean of the same weekday (Mondays at luleå: one
    visit each, at 10 local), and Erlang C with the measured mean service time
    ((20 + 10 + 10) / 3 minutes): one desk keeps 90.7 % of waits under 15 minutes."""
    answer = (await api.get("/v1/forecast/visits", params={"office_id": "lulea", "days": 7, "from": "2026-03-17"})).json()
    assert answer["history_to"] == "2026-03-16" and len(answer["days"]) == 7
    assert [r for r in answer["rows"] if r["visits"]] == [{"date": "2026-03-23", "weekday": 1, "hour": 10, "visits": 1.0}]
    staffing = (await api.get("/v1/forecast/staffing", params={"office_id": "lulea", "date": "2026-03-23"})).json()
    assert staffing["service_minutes"] == round(40 / 3, 2) and staffing["service_basis"] == "measured"
    [hour] = staffing["rows"]
    assert (hour["hour"], hour["expected_visits"], hour["desks_needed"]) == (10, 1.0, 1)
    load, rate, mu = 40 / 3 / 60, 1 / 60, 3 / 40
    assert hour["share_within_target"] == round(1 - load * math.exp(-(mu - rate) * 15), 3)


def test_the_sql_views_agree_with_the_api(data_dir) -> None:
    with sqlite3.connect(data_dir / "reporting.db") as db:
        work = db.execute("SELECT SUM(visits), SUM(staffed_hours) FROM v_workload_by_office_day"
                          " WHERE office_id = 'lulea'").fetchone()
        fcr = dict(db.execute("SELECT office_id, first_contact_resolution FROM v_first_contact_by_office_month"))
        target = dict(db.execute("SELECT office_id, within_target_share FROM v_wait_target_by_office_month"))
        error = dict(db.execute("SELECT office_id, mean_error_minutes FROM v_estimate_error_by_office"))
        contacts = db.execute("SELECT COUNT(*), COUNT(DISTINCT person_pseudonym) FROM v_person_contacts").fetchone()
        [(decided,)] = db.execute("SELECT decided_at FROM v_agency_decisions").fetchall()
    assert work == (3, 22.5) and fcr == {"lulea": 0.75, "umea": 0.5}
    assert target == {"lulea": 2 / 3, "umea": 1.0} and error == {"lulea": pytest.approx(5.0), "umea": pytest.approx(0.5)}
    assert contacts == (3, 1) and decided.startswith("2026-03-27")


async def test_the_steering_page_is_served_with_the_dashboards_policy(api) -> None:
    response = await api.get("/dashboard/styrning")
    assert response.status_code == 200 and "Servicekontor – styrning" in response.text
    assert "__CATALOG__" not in response.text and "Luleå" in response.text
    assert "default-src 'none'" in response.headers["content-security-policy"]


@pytest.mark.parametrize(("path", "params"), [
    ("/v1/stats/quality", {"from": "0001-01-01", "to": "9999-12-31"}),
    ("/v1/stats/repeat-contacts", {"from": "0001-01-01", "to": "9999-12-31", "days": "14"}),
    ("/v1/stats/workload", {"from": "0001-01-01", "to": "9999-12-31", "group_by": "month"}),
])
async def test_the_ends_of_the_calendar_answer(api, path, params) -> None:
    response = await api.get(path, params=params)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("params", [
    {"office_id": "lulea", "from": "0001-01-01"}, {"office_id": "lulea", "from": "9999-12-31"},
])
async def test_forecasts_outside_the_history_are_refused(api, params) -> None:
    response = await api.get("/v1/forecast/visits", params=params)
    assert response.status_code == 422 and "error" in response.json()
    staffing = await api.get("/v1/forecast/staffing", params={"office_id": "lulea", "date": params["from"]})
    assert staffing.status_code == 422 and "error" in staffing.json()
