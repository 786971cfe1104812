"""End to end: ``servicekontor up`` as a subprocess, driven over HTTP like a kiosk, a desk
and a BI tool would."""

from __future__ import annotations

import signal
import subprocess
import sys

import httpx
import pytest

from tests.helpers import wait_until

pytestmark = pytest.mark.e2e


def post(url: str, body: dict, expect: int = 200) -> dict:
    response = httpx.post(url, json=body, timeout=10)
    assert response.status_code == expect, response.text
    return response.json()


def get_json(url: str) -> dict | None:
    response = httpx.get(url, timeout=10)
    return response.json() if response.status_code == 200 else None


def test_a_visit_flows_through_all_four_services_and_the_system_stops_cleanly(system):
    visit = post(system.url("intake", "/v1/visits"), {"office_id": "ostersund", "channel": "kiosk"}, 201)
    vid = visit["visit_id"]
    post(system.url("intake", f"/v1/visits/{vid}/call"), {"desk": "D3"})
    complex_q = post(
        system.url("intake", f"/v1/visits/{vid}/questions"),
        {"text": "Jag vill ansöka om id-kort", "personal_identity_number": "19811218-9876"},
        201,
    )["question_id"]
    general_q = post(system.url("intake", f"/v1/visits/{vid}/questions"), {"text": "Hur ansöker jag om bostadsbidrag?"}, 201)["question_id"]

    decision = wait_until(lambda: get_json(system.url("routing", f"/v1/questions/{complex_q}/decision")))
    assert (decision["level"], decision["agency"], decision["case_type"]) == ("complex", "skatteverket", "id_kort")
    # Östersund takes ID-card applications at Skatteverket's own desk (office registry).
    assert decision["explanation"] and decision["destination"] == "agency_desk"
    general = wait_until(lambda: get_json(system.url("routing", f"/v1/questions/{general_q}/decision")))
    assert general["level"] == "general"

    delivery = wait_until(
        lambda: (d := get_json(system.url("agency_gateway", f"/v1/deliveries/{complex_q}"))) and d["status"] == "delivered" and d
    )
    assert delivery["agency"] == "skatteverket" and delivery["agency_reference"]
    received = get_json(system.url("agency_simulator", "/v1/received"))
    assert received["unique_cases"] == 1 and received["by_agency"]["skatteverket"]["unique_cases"] == 1

    post(system.url("intake", f"/v1/questions/{complex_q}/resolution"), {"outcome": "forwarded"})
    post(system.url("intake", f"/v1/visits/{vid}/end"), {"satisfaction": {"treatment": 5, "time": 5, "got_help": True}})
    summary = wait_until(
        lambda: (s := get_json(system.url("reporting", "/v1/stats/summary"))) and s["visits_ended"] == 1 and s["cases_delivered"] == 1 and s
    )
    assert (summary["visits"], summary["questions"]) == (1, 2)
    assert summary["questions_by_level"]["complex"] == 1
    rows = get_json(system.url("reporting", "/v1/stats/case-types"))["rows"]
    assert {(r["agency"], r["case_type"], r["level"]) for r in rows} == {
        ("skatteverket", "id_kort", "complex"),
        ("forsakringskassan", "bostadsbidrag", "general"),
    }
    by_office = get_json(system.url("reporting", "/v1/stats/visits?group_by=office"))["rows"]
    assert by_office[0]["office_id"] == "ostersund" and by_office[0]["visits"] == 1

    # The identity number exists only sealed in our stores; erasure destroys its key.
    erased = subprocess.run(
        [sys.executable, "-m", "servicekontor.cli", "erase", vid, "--actor", "test-admin",
         "--data-dir", str(system.data_dir)],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert erased.returncode == 0 and "data key destroyed" in erased.stdout, erased.stderr[-2000:]
    assert system.query("vault", f"select count(*) from vault_visit_keys where visit_id = '{vid}'") == [(0,)]
    for store in system.data_dir.glob("*.db*"):
        assert b"198112189876" not in store.read_bytes(), store.name
    assert "198112189876" not in system.log_tail(10**7)

    assert system.stop(signal.SIGTERM) == 0
    assert "servicekontor_stopped" in system.log_tail(20_000) or system.process.returncode == 0


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
    summary = get_json(system.url("reporting", "/v1/stats/summary"))
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
        "--reporting-port", str(system.ports["reporting"]),
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
