"""Stopping ``servicekontor up``: bounded and clean at every moment (issue #15, finding 7),
and the address card ``up`` writes (``<data_dir>/ports.json``, the ports actually bound).

Each stop is timed from the signal to the process's exit and must take at most
``STOP_BOUND`` seconds (the system's own promise, not scaled by ``SK_TEST_TIME_FACTOR``:
``up`` enforces it itself), exit 0 and log ``servicekontor_stopped`` as its last line."""

from __future__ import annotations

import json
import signal
import time

import httpx
import pytest

from servicekontor.instance import read_instance
from tests.e2e.conftest import SERVICES, RunningSystem
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


def test_up_on_port_0_answers_on_the_ports_its_card_names(any_port_system):
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
    # The gateway reaches the simulator, and the simulator's callbacks reach the gateway.
    kiosk, supervisor = system.headers("kiosk"), system.headers("supervisor")
    visit = httpx.post(f"{card.url('intake')}/v1/visits", json={"office_id": "umea", "channel": "kiosk"},
                       headers=kiosk, timeout=10).json()
    question = httpx.post(f"{card.url('intake')}/v1/visits/{visit['visit_id']}/questions",
                          json={"text": "Jag vill ansöka om id-kort"}, headers=kiosk, timeout=10).json()
    delivery = f"{card.url('agency_gateway')}/v1/deliveries/{question['question_id']}"
    wait_until(lambda: (r := httpx.get(delivery, headers=supervisor, timeout=10)).status_code == 200
               and r.json()["agency_status"] is not None, timeout=60)

    code, seconds = timed_stop(system, signal.SIGINT)
    assert_stopped_cleanly(system, code, seconds, "with port 0")
