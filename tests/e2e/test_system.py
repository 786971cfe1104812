"""End to end: ``servicekontor up`` as a subprocess, driven over HTTP like a kiosk, a desk
and a BI tool would, each with its own bearer token from ``credentials.json``."""

from __future__ import annotations

import asyncio
import os
import signal
import stat
import subprocess
import sys

import httpx
import pytest

from shared.db import sqlite_url
from tests.e2e.conftest import RunningSystem
from tests.e2e.erasure import PIN, PIN12, assert_only_sealed, erase, files_under, open_seals, scan
from tests.helpers import wait_until

pytestmark = pytest.mark.e2e


def post(url: str, body: dict, expect: int = 200, headers: dict | None = None) -> dict:
    response = httpx.post(url, json=body, headers=headers, timeout=10)
    assert response.status_code == expect, response.text
    return response.json()


def get_json(url: str, headers: dict | None = None) -> dict | None:
    response = httpx.get(url, headers=headers, timeout=10)
    return response.json() if response.status_code == 200 else None


def test_a_visit_flows_through_all_four_services_and_the_system_stops_cleanly(system):
    kiosk, desk, supervisor, bi = (system.headers(r) for r in ("kiosk", "desk", "supervisor", "bi"))
    visit = post(system.url("intake", "/v1/visits"), {"office_id": "ostersund", "channel": "kiosk"}, 201, kiosk)
    vid = visit["visit_id"]
    post(system.url("intake", f"/v1/visits/{vid}/call"), {"desk": "D3"}, headers=desk)
    complex_q = post(
        system.url("intake", f"/v1/visits/{vid}/questions"),
        {"text": "Jag vill ansöka om id-kort", "personal_identity_number": PIN},
        201,
        kiosk,
    )["question_id"]
    general_q = post(
        system.url("intake", f"/v1/visits/{vid}/questions"), {"text": "Hur ansöker jag om bostadsbidrag?"}, 201, kiosk
    )["question_id"]

    decision = wait_until(lambda: get_json(system.url("routing", f"/v1/questions/{complex_q}/decision"), desk))
    assert (decision["level"], decision["agency"], decision["case_type"]) == ("complex", "skatteverket", "id_kort")
    # Östersund takes ID-card applications at Skatteverket's own desk (office registry).
    assert decision["explanation"] and decision["destination"] == "agency_desk"
    general = wait_until(lambda: get_json(system.url("routing", f"/v1/questions/{general_q}/decision"), desk))
    assert general["level"] == "general"

    delivery = wait_until(
        lambda: (d := get_json(system.url("agency_gateway", f"/v1/deliveries/{complex_q}"), supervisor))
        and d["status"] == "delivered" and d
    )
    assert delivery["agency"] == "skatteverket" and delivery["agency_reference"]
    received = get_json(system.url("agency_simulator", "/v1/received"))
    assert received["unique_cases"] == 1 and received["by_agency"]["skatteverket"]["unique_cases"] == 1

    post(system.url("intake", f"/v1/questions/{complex_q}/resolution"), {"outcome": "forwarded"}, headers=desk)
    post(system.url("intake", f"/v1/visits/{vid}/end"), {"satisfaction": {"treatment": 5, "time": 5, "got_help": True}},
         headers=kiosk)
    summary = wait_until(
        lambda: (s := get_json(system.url("reporting", "/v1/stats/summary"), bi))
        and s["visits_ended"] == 1 and s["cases_delivered"] == 1 and s
    )
    assert (summary["visits"], summary["questions"]) == (1, 2)
    assert summary["questions_by_level"]["complex"] == 1
    rows = get_json(system.url("reporting", "/v1/stats/case-types"), bi)["rows"]
    assert {(r["agency"], r["case_type"], r["level"]) for r in rows} == {
        ("skatteverket", "id_kort", "complex"),
        ("forsakringskassan", "bostadsbidrag", "general"),
    }
    by_office = get_json(system.url("reporting", "/v1/stats/visits?group_by=office"), bi)["rows"]
    assert by_office[0]["office_id"] == "ostersund" and by_office[0]["visits"] == 1

    # The identity number exists only sealed in our stores (and opens while the visit's
    # key exists); erasure destroys the key, so no seal opens any more.
    vault_url, master_key = sqlite_url(system.data_dir / "vault.db"), system.data_dir / "auth" / "master.key"
    before = scan(stored_places(system))
    assert_only_sealed(before, vid)
    assert before.seals, "the sealed identity number is in no store"
    assert set(asyncio.run(open_seals(vault_url, master_key, before.seals)).values()) == {PIN12}
    # The command line here; the distributed test erases through the admin endpoint.
    erase(system.url("intake"), vid, system.headers("admin"), system.env(), system.data_dir, via="cli")
    assert system.query("vault", f"select count(*) from vault_visit_keys where visit_id = '{vid}'") == [(0,)]
    after = scan(stored_places(system))
    assert_only_sealed(after, vid)
    assert set(asyncio.run(open_seals(vault_url, master_key, after.seals)).values()) <= {None}

    assert system.stop(signal.SIGTERM) == 0  # the lifecycle log: the test with work in flight


def stored_places(system) -> list[tuple[str, bytes]]:
    """Every file under the data directory (SQLite stores with their WAL, keys, the
    simulator's store) and everything ``up`` wrote to its output."""
    return [*files_under(system.data_dir), ("servicekontor up output", system.log_path.read_bytes())]


def test_every_route_asks_for_a_token_and_the_role_that_may_use_it(system):
    credentials = system.data_dir / "credentials.json"
    assert stat.S_IMODE(os.stat(credentials).st_mode) == 0o600, oct(os.stat(credentials).st_mode)
    tokens = system.credentials()
    assert {"kiosk", "desk", "supervisor", "bi", "admin"} <= set(tokens) and tokens["agencies"]
    output = system.log_tail(10**6)
    assert str(credentials.resolve()) in output or str(credentials) in output, output[-2000:]
    assert "servicekontor token desk" in output and "Authorization: Bearer" in output, output[-2000:]

    visits = system.url("intake", "/v1/visits")
    body = {"office_id": "umea", "channel": "kiosk"}
    anonymous = httpx.post(visits, json=body, timeout=10)
    assert anonymous.status_code == 401, anonymous.text
    assert anonymous.json()["error"]["code"] == "unauthenticated"
    assert anonymous.headers["www-authenticate"].lower().startswith("bearer")
    forged = httpx.post(visits, json=body, headers={"Authorization": "Bearer not-a-token"}, timeout=10)
    assert forged.status_code == 401, forged.text
    for service, path in [("routing", "/v1/questions/x/decision"), ("agency_gateway", "/v1/deliveries"),
                          ("reporting", "/v1/stats/summary"), ("intake", "/ready"), ("reporting", "/metrics")]:
        assert httpx.get(system.url(service, path), timeout=10).status_code == 401, (service, path)

    kiosk = system.headers("kiosk")
    vid = post(visits, body, 201, kiosk)["visit_id"]
    # A kiosk may register the visit, but calling it to a desk is the desk's.
    refused = httpx.post(system.url("intake", f"/v1/visits/{vid}/call"), json={"desk": "D1"}, headers=kiosk, timeout=10)
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"]["code"] == "forbidden"
    assert httpx.get(system.url("intake", f"/v1/visits/{vid}"), headers=kiosk, timeout=10).status_code == 403
    assert httpx.get(system.url("reporting", "/v1/stats/summary"), headers=kiosk, timeout=10).status_code == 403
    post(system.url("intake", f"/v1/visits/{vid}/call"), {"desk": "D1"}, headers=system.headers("desk"))
    assert get_json(system.url("intake", f"/v1/visits/{vid}"), system.headers("desk"))["desk"] == "D1"
    # Erasing personal data is the administrator's alone.
    erasure = system.url("intake", f"/v1/visits/{vid}/personal-data")
    for role in ("kiosk", "desk", "supervisor", "bi"):
        assert httpx.delete(erasure, headers=system.headers(role), timeout=10).status_code == 403, role
    # What stays public: liveness, the API description and the dashboard's empty shell.
    for service, path in [("intake", "/health"), ("intake", "/openapi.json"), ("reporting", "/dashboard")]:
        assert httpx.get(system.url(service, path), timeout=10).status_code == 200, (service, path)


def converged(system) -> dict:
    """Counts from every store and the simulator, once everything has caught up."""
    visits = system.query("intake", "select count(*) from event_store where event_type='intake.VisitRegistered'")[0][0]
    questions = system.query("intake", "select count(*) from event_store where event_type='intake.QuestionRecorded'")[0][0]
    classified = system.query(
        "routing", "select count(*), count(distinct stream_id) from event_store where event_type='routing.QuestionClassified'"
    )[0]
    routed = system.query(
        "routing", "select count(*), count(distinct stream_id) from event_store where event_type='routing.CaseRoutedToAgency'"
    )[0]
    delivered = system.query("agency_gateway", "select count(*) from gateway_deliveries where status='delivered'")[0][0]
    forwarded = system.query(
        "agency_gateway", "select count(*), count(distinct stream_id) from event_store where event_type='gateway.CaseForwarded'"
    )[0]
    received = get_json(system.url("agency_simulator", "/v1/received"))
    summary = get_json(system.url("reporting", "/v1/stats/summary"), system.headers("bi"))
    return dict(
        visits=visits, questions=questions, classified=classified, routed=routed, delivered=delivered,
        forwarded=forwarded, received=received, summary=summary,
    )


def all_caught_up(c: dict) -> bool:
    s = c["summary"]
    return (
        c["classified"][0] == c["questions"]
        and c["delivered"] == c["routed"][0]
        and c["received"]["unique_cases"] == c["routed"][0]
        and s["visits"] == c["visits"]
        and s["questions"] == c["questions"]
        and s["cases_delivered"] == c["routed"][0]
    )


def demo_args(system, visits: int, seed: int) -> list[str]:
    return [
        sys.executable, "-m", "servicekontor.cli", "demo", "--visits", str(visits), "--concurrency", "8",
        "--seed", str(seed), "--intake-port", str(system.ports["intake"]),
        "--routing-port", str(system.ports["routing"]),
        "--agency-gateway-port", str(system.ports["agency_gateway"]),
        "--reporting-port", str(system.ports["reporting"]), "--data-dir", str(system.data_dir),
    ]


def test_sigkill_mid_demo_then_restart_loses_nothing_and_doubles_nothing(system):
    demo = subprocess.Popen(demo_args(system, 400, 7), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: system.query("intake", "select count(*) from event_store where event_type='intake.QuestionRecorded'")[0][0] >= 40, timeout=60)
        system.stop(signal.SIGKILL)
    finally:
        demo.kill()
        demo.wait(timeout=10)

    system.start()
    counts = wait_until(lambda: (c := converged(system)) and all_caught_up(c) and c, timeout=90)

    print("after crash and restart:", {k: v for k, v in counts.items() if k != "summary"})
    assert counts["questions"] >= 40
    assert counts["classified"] == (counts["questions"], counts["questions"]), "each question classified exactly once"
    assert counts["routed"][0] == counts["routed"][1], "no case routed twice"
    assert counts["forwarded"][0] == counts["forwarded"][1] == counts["routed"][0], "each case forwarded once"
    assert counts["received"]["unique_cases"] == counts["routed"][0], "the agencies saw each case once in effect"
    levels = counts["summary"]["questions_by_level"]
    routing_levels = dict(system.query("routing", "select json_extract(payload, '$.level'), count(*) from event_store where event_type='routing.QuestionClassified' group by 1"))
    assert {k: v for k, v in levels.items() if v} == routing_levels

    # The restarted system keeps working: a full demo run completes and everything converges.
    finished = subprocess.run(demo_args(system, 20, 8), check=False, capture_output=True, text=True, timeout=120)
    assert finished.returncode == 0, finished.stdout[-2000:] + finished.stderr[-2000:]
    assert "complex cases delivered" in finished.stdout
    after = wait_until(lambda: (c := converged(system)) and all_caught_up(c) and c, timeout=60)
    assert after["visits"] == counts["visits"] + 20


@pytest.fixture
def verbose_system(tmp_path):
    """A system that logs its lifecycle (INFO): ``servicekontor_stopping`` / ``_stopped``."""
    running = RunningSystem(tmp_path / "data", tmp_path / "servicekontor.log", log_level="INFO")
    running.start()
    yield running
    if running.process and running.process.poll() is None:
        running.process.kill()
        running.process.wait(timeout=30)


def recorded_questions(system) -> int:
    return system.query("intake", "select count(*) from event_store where event_type='intake.QuestionRecorded'")[0][0]


def test_sigterm_with_work_in_flight_stops_cleanly_and_a_restart_finishes_the_work(verbose_system):
    """A demo keeps 8 kiosks busy; SIGTERM arrives while visits are recorded, classified and
    delivered. The system exits 0 having logged its stop, only after it logged that it was
    stopping; after a restart every question is classified once and every case delivered
    once: a clean stop leaves nothing half done."""
    system = verbose_system
    demo = subprocess.Popen(demo_args(system, 400, 11), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: recorded_questions(system) >= 40, timeout=60)
        assert demo.poll() is None, "the demo had finished: no work in flight"
        assert system.stop(signal.SIGTERM) == 0
    finally:
        demo.kill()
        demo.wait(timeout=30)
    log = system.log_path.read_text(errors="replace")
    assert "servicekontor_stopping" in log and "servicekontor_stopped" in log, log[-3000:]
    assert log.rindex("servicekontor_stopped") > log.rindex("servicekontor_stopping")
    trouble = [n for n in ("component_failed", "Traceback") if n in log]
    assert not trouble, log[max(0, log.find(trouble[0]) - 500):][:4000] if trouble else ""

    system.start()
    counts = wait_until(lambda: (c := converged(system)) and all_caught_up(c) and c, timeout=90)
    assert counts["questions"] >= 40
    assert counts["classified"] == (counts["questions"], counts["questions"]), "each question classified once"
    assert counts["routed"][0] == counts["routed"][1], "no case routed twice"
    assert counts["forwarded"][0] == counts["forwarded"][1] == counts["routed"][0], "each case forwarded once"
    # A call cut off by the stop is sent again with its Idempotency-Key: one case in effect.
    assert counts["received"]["unique_cases"] == counts["routed"][0]
