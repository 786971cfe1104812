"""Stopping ``servicekontor up``: bounded and clean at every moment (issue #15, finding 7),
and the address card ``up`` writes (``<data_dir>/ports.json``, the ports actually bound).

Each stop is timed from the signal to the process's exit and must take at most
``STOP_BOUND`` seconds (the system's own promise, not scaled by ``SK_TEST_TIME_FACTOR``:
``up`` enforces it itself), exit 0 and log ``servicekontor_stopped`` as its last line."""

from __future__ import annotations

import json
import signal
import subprocess
import threading
import time
from datetime import UTC, datetime

import httpx
import pytest

from servicekontor.instance import read_instance
from tests.e2e.conftest import SERVICES, RunningSystem
from tests.e2e.test_system import all_caught_up, converged, demo_args, recorded_questions
from tests.helpers import scaled, wait_until

pytestmark = pytest.mark.e2e

STOP_BOUND = 10.0


@pytest.fixture
def any_port_system(tmp_path):
    """``up`` with every port 0, logging its lifecycle (INFO)."""
    running = RunningSystem(tmp_path / "data", tmp_path / "servicekontor.log", log_level="INFO", any_port=True)
    running.start()
    yield running
    if running.process and running.process.poll() is None:
        running.process.kill()
        running.process.wait(timeout=scaled(10))


def timed_stop(system: RunningSystem, sig: int = signal.SIGTERM) -> tuple[int, float]:
    """Signal the system; answer its exit code and the seconds from signal to exit."""
    assert system.process is not None
    started = time.monotonic()
    system.process.send_signal(sig)
    code = system.process.wait(timeout=scaled(60))
    return code, time.monotonic() - started


def log_lines(system: RunningSystem) -> list[dict]:
    lines = []
    for raw in system.log_path.read_text(errors="replace").splitlines():
        try:
            lines.append(json.loads(raw))
        except ValueError:
            lines.append({"event": raw})
    return lines


def assert_stopped_cleanly(system: RunningSystem, code: int, seconds: float, moment: str) -> None:
    lines = log_lines(system)
    tail = "\n".join(str(line) for line in lines[-15:])
    assert code == 0, f"{moment}: exit code {code}\n{tail}"
    assert seconds <= STOP_BOUND, f"{moment}: {seconds:.1f} s from signal to exit\n{tail}"
    assert lines and lines[-1].get("event") == "servicekontor_stopped", f"{moment}: not logged last\n{tail}"
    trouble = [line for line in lines if line.get("level") in ("error", "critical") or "Traceback" in line["event"]]
    assert not trouble, f"{moment}: {trouble[:3]}"
    assert read_instance(system.data_dir, alive_only=False) is None, f"{moment}: ports.json left behind"
    print(f"stop {moment}: {seconds:.2f} s")


def test_up_on_port_0_then_stops_idle_and_with_a_queue_display_stream_open(any_port_system):
    """``up`` with every port 0 answers on the ports its card names (the simulator's
    callbacks reaching the gateway on its real port: the mid-burst test); then the stops
    (a) idle and (d) with a display's Server-Sent Events stream open, which keeps its
    connection open until the server ends it."""
    system = any_port_system
    card = read_instance(system.data_dir)
    assert card is not None and card.pid == system.process.pid and card.host == "127.0.0.1"
    assert all(getattr(card, s) > 0 for s in SERVICES)
    up = next(line for line in log_lines(system) if line.get("event") == "servicekontor_up")
    assert up["ports"] == {s: getattr(card, s) for s in SERVICES}
    for service in SERVICES:
        assert httpx.get(f"{card.url(service)}/health", timeout=10).status_code == 200, service
    # The desk page (intake's origin) may call routing: CORS names intake's real port.
    intake_origin = f"http://127.0.0.1:{card.intake}"
    preflight = httpx.options(
        f"{card.url('routing')}/v1/questions/x/decision",
        headers={"Origin": intake_origin, "Access-Control-Request-Method": "GET"},
        timeout=10,
    )
    assert preflight.headers.get("access-control-allow-origin") == intake_origin, preflight.headers
    time.sleep(1)  # settled: nothing in flight
    code, seconds = timed_stop(system, signal.SIGTERM)
    assert_stopped_cleanly(system, code, seconds, "idle")

    system.start()
    events: list[str] = []
    ended = threading.Event()
    stream = threading.Thread(
        target=follow_stream,
        args=(system.url("intake", "/v1/offices/umea/queue/stream"), system.headers("display"), events, ended),
        daemon=True,
    )
    stream.start()
    wait_until(lambda: any(line.startswith("event: queue") for line in events), timeout=30)
    code, seconds = timed_stop(system, signal.SIGINT)
    assert_stopped_cleanly(system, code, seconds, "queue display stream open")
    assert ended.wait(5), "the stream did not end"

    system.start()  # and the restarted system answers
    visit = httpx.post(system.url("intake", "/v1/visits"), json={"office_id": "umea", "channel": "kiosk"},
                       headers=system.headers("kiosk"), timeout=10)
    assert visit.status_code == 201, visit.text


def follow_stream(url: str, headers: dict, lines: list[str], ended: threading.Event) -> None:
    try:
        with httpx.stream("GET", url, headers=headers, timeout=httpx.Timeout(10, read=120)) as response:
            for line in response.iter_lines():
                lines.append(line)
    except httpx.HTTPError as error:
        lines.append(repr(error))
    finally:
        ended.set()


SLOW_AGENCY = "polisen"  # "Jag vill ansöka om pass": complex, Polisen
FAST_TEXT = "Jag vill ansöka om uppehållstillstånd"  # complex, Migrationsverket


@pytest.fixture
def slow_agency_system(tmp_path):
    """Every port 0; the gateway waits 60 s for an agency (its lease: 62 s) and the simulated
    agencies send a status every 5 s: wide windows for "in flight" on a busy machine."""
    running = RunningSystem(
        tmp_path / "data", tmp_path / "servicekontor.log", log_level="INFO", any_port=True,
        extra_env={"SK_AGENCY_REQUEST_TIMEOUT_SECONDS": "60", "SK_AGENCY_SIMULATOR_CALLBACK_DELAY_SECONDS": "5"},
    )
    running.start()
    yield running
    if running.process and running.process.poll() is None:
        running.process.kill()
        running.process.wait(timeout=scaled(10))


def test_stops_mid_burst_with_a_delivery_and_status_callbacks_in_flight(slow_agency_system):
    """(b) a delivery in flight to a slow agency, (c) the simulator sending status callbacks
    for a case it has just taken, (e) consumers mid-burst (a demo's 8 kiosks): all at the
    moment of one SIGTERM, each checked to be under way. After a restart every question is
    classified once, every complex case delivered once (the slow one too, handed back:
    before its lease would have run out) and the callbacks of the case delivered before
    the stop all arrived."""
    system = slow_agency_system
    kiosk, supervisor = system.headers("kiosk"), system.headers("supervisor")
    # Slower than the gateway's timeout: a call to it is in flight until the stop cuts it.
    faults = httpx.put(system.url("agency_simulator", f"/v1/admin/faults/{SLOW_AGENCY}"),
                       json={"latency_ms": [120_000, 120_000]}, timeout=10)
    assert faults.status_code == 200, faults.text
    demo = subprocess.Popen(demo_args(system, 400, 15), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: recorded_questions(system) >= 30, timeout=60)
        fast = ask(system, FAST_TEXT, kiosk)
        wait_until(lambda: delivery(system, fast, supervisor)["status"] == "delivered", timeout=30)
        slow = ask(system, "Jag vill ansöka om pass", kiosk)
        wait_until(lambda: in_flight(delivery(system, slow, supervisor)), timeout=30)
        # Under way at the signal: the burst, the slow call, the fast case's callbacks.
        assert demo.poll() is None, "the demo had finished: no burst in flight"
        leased = delivery(system, slow, supervisor)
        assert in_flight(leased), "the slow call ended before the signal"
        assert delivery(system, fast, supervisor)["agency_status"] != "closed", "its callbacks were all sent"
        code, seconds = timed_stop(system, signal.SIGTERM)
    finally:
        demo.kill()
        demo.wait(timeout=30)
    assert_stopped_cleanly(system, code, seconds, "mid-burst, a delivery and callbacks in flight")

    system.start()
    counts = wait_until(lambda: (c := converged(system)) and all_caught_up(c) and c, timeout=120)
    assert counts["classified"] == (counts["questions"], counts["questions"]), "each question classified once"
    assert counts["routed"][0] == counts["routed"][1], "no case routed twice"
    assert counts["forwarded"][0] == counts["forwarded"][1] == counts["routed"][0], "each case forwarded once"
    assert counts["received"]["unique_cases"] == counts["routed"][0], "each case once at the agencies"
    slow_row = delivery(system, slow, supervisor)
    assert slow_row["status"] == "delivered"
    # Handed back at the stop: sent again at once after the restart, not after its lease.
    assert datetime.fromisoformat(slow_row["delivered_at"]) < datetime.fromisoformat(leased["next_attempt_at"])
    # Nothing of the fast case's status callbacks was lost in the stop.
    assert delivery(system, fast, supervisor)["agency_status"] == "closed"


def ask(system: RunningSystem, text: str, kiosk: dict) -> str:
    visit = httpx.post(system.url("intake", "/v1/visits"), json={"office_id": "umea", "channel": "kiosk"},
                       headers=kiosk, timeout=10).json()
    question = httpx.post(system.url("intake", f"/v1/visits/{visit['visit_id']}/questions"), json={"text": text},
                          headers=kiosk, timeout=10)
    assert question.status_code == 201, question.text
    return question.json()["question_id"]


def delivery(system: RunningSystem, question_id: str, supervisor: dict) -> dict:
    response = httpx.get(system.url("agency_gateway", f"/v1/deliveries/{question_id}"), headers=supervisor, timeout=10)
    return response.json() if response.status_code == 200 else {"status": None, "agency_status": None}


def in_flight(row: dict) -> bool:
    """Claimed (its lease runs) and no attempt recorded yet: the call is under way."""
    leased_until = row.get("next_attempt_at")
    return (
        row.get("status") == "pending" and row.get("attempts") == 0 and leased_until is not None
        and datetime.fromisoformat(leased_until) > datetime.now(UTC)
    )


@pytest.mark.realservers
def test_up_distributed_and_each_serve_stop_within_the_bound(real_servers, tmp_path):
    """``up --distributed``: the four ``serve`` processes and the simulator on real Kafka
    and PostgreSQL. Stopped right after a delivery (the simulator's status callbacks under
    way), all of them exit 0 within the bound, the simulator's callbacks owed arrive first."""
    import asyncio
    import os
    import sys

    from tests.helpers import auth, free_port

    data_dir = tmp_path / "data"
    ports = {name: free_port() for name in SERVICES}
    env = {
        **os.environ,
        "SK_DATABASE_URL": asyncio.run(real_servers.fresh_database()),
        "SK_KAFKA_BOOTSTRAP_SERVERS": real_servers.kafka_bootstrap_servers,
        "SK_KAFKA_TOPIC_PREFIX": f"stop{time.monotonic_ns() % 10**8}.",
        "SK_LOG_LEVEL": "INFO",
        **{f"SK_{name.upper()}_PORT": str(port) for name, port in ports.items() if name != "agency_simulator"},
    }
    env.pop("SK_AGENCY_ENDPOINTS", None)
    log_path = tmp_path / "up.log"
    args = [sys.executable, "-m", "servicekontor.cli", "up", "--distributed", "--data-dir", str(data_dir),
            "--agency-simulator-port", str(ports["agency_simulator"])]
    with log_path.open("ab") as out:
        process = subprocess.Popen(args, env=env, stdout=out, stderr=out)
    try:
        system = RunningSystem(data_dir, log_path, ports=ports, process=process)
        card = wait_until(system.address_card, timeout=120)
        assert {s: getattr(card, s) for s in SERVICES} == ports
        kiosk, supervisor = auth(data_dir, "kiosk"), auth(data_dir, "supervisor")
        question = ask(system, FAST_TEXT, kiosk)
        wait_until(lambda: delivery(system, question, supervisor)["agency_status"] is not None, timeout=60)
        assert delivery(system, question, supervisor)["agency_status"] != "closed"
        code, seconds = timed_stop(system, signal.SIGTERM)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)
    lines = log_lines(system)
    stopped = [line for line in lines if line.get("event") == "servicekontor_stopped"]
    assert len(stopped) == len(SERVICES) + 1, stopped  # each serve, the simulator, up itself
    assert stopped[-1].get("exit_codes") == dict.fromkeys(SERVICES, 0), stopped[-1]
    assert_stopped_cleanly(system, code, seconds, "up --distributed")
    # The statuses the simulator still owed were sent before the gateway stopped.
    closed = [line for line in lines if line.get("event") == "agency_case_updated"
              and line.get("question_id") == question and line.get("status") == "closed"]
    assert closed, "the case's last status callback never reached the gateway"
