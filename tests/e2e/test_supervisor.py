"""``servicekontor up --processes`` (servicekontor/supervisor.py): one process per service
under one supervisor. A service's process killed mid-burst is restarted on its port and
the system loses and doubles nothing; a service that cannot start stops the others and
``up`` exits non-zero; ``kill -9`` of ``up`` ends every process, as it does one process."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from servicekontor.instance import read_instance
from tests.e2e.conftest import SERVICES, RunningSystem
from tests.e2e.test_stopping import STOP_BOUND, log_lines, timed_stop
from tests.e2e.test_system import all_caught_up, converged, demo_args, recorded_questions
from tests.helpers import free_port, scaled, wait_until

pytestmark = pytest.mark.e2e

PROCESSES = {"SK_EMBEDDED_PROCESSES": "1"}


@pytest.fixture
def processes_system(tmp_path):
    running = RunningSystem(tmp_path / "data", tmp_path / "servicekontor.log", log_level="INFO", any_port=True,
                            extra_env=PROCESSES)
    running.start()
    yield running
    if running.process and running.process.poll() is None:
        running.process.kill()
        running.process.wait(timeout=scaled(10))


def service_processes(supervisor: int) -> dict[str, int]:
    """The supervisor's children: service -> pid (``python -m servicekontor.supervisor NAME SPEC``)."""
    found = {}
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            ppid = int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1])
            argv = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")
        except (OSError, IndexError, ValueError):
            continue
        if ppid == supervisor and b"servicekontor.supervisor" in argv:
            found[argv[argv.index(b"servicekontor.supervisor") + 1].decode()] = int(entry)
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_each_service_is_a_process_of_its_own_on_the_ports_the_card_names(processes_system):
    system = processes_system
    card = read_instance(system.data_dir)
    assert card is not None and card.pid == system.process.pid
    children = service_processes(system.process.pid)
    assert set(children) == set(SERVICES), children
    assert len(set(children.values())) == len(SERVICES)
    up = next(line for line in log_lines(system) if line.get("event") == "servicekontor_up")
    assert up["ports"] == {s: getattr(card, s) for s in SERVICES}
    code, seconds = timed_stop(system, signal.SIGTERM)
    assert code == 0 and seconds <= STOP_BOUND, (code, seconds, system.log_tail())
    assert read_instance(system.data_dir, alive_only=False) is None
    assert not any(alive(pid) for pid in children.values())


def test_a_killed_service_process_is_restarted_and_nothing_is_lost_or_doubled(processes_system):
    """kill -9 of routing and of reporting (consumers and, routing, a producer) while a demo
    keeps eight kiosks busy: each comes back on its port, and once everything has caught up
    every question is classified once, every case routed, forwarded and received once."""
    system = processes_system
    before = service_processes(system.process.pid)
    demo = subprocess.Popen(demo_args(system, 120, 11), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: recorded_questions(system) >= 30, timeout=60)
        for service in ("routing", "reporting"):
            os.kill(before[service], signal.SIGKILL)
        restarted = wait_until(
            lambda: (now := service_processes(system.process.pid))
            and all(now.get(s) not in (None, before[s]) for s in ("routing", "reporting")) and now,
            timeout=60,
        )
        wait_until(system.all_ready, timeout=60)
        demo.wait(timeout=scaled(180))
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait(timeout=10)
    assert restarted["intake"] == before["intake"], "the others went on"
    counts = wait_until(lambda: (c := converged(system)) and all_caught_up(c) and c, timeout=120)
    assert counts["questions"] >= 30
    assert counts["classified"] == (counts["questions"], counts["questions"]), "each question classified once"
    assert counts["routed"][0] == counts["routed"][1], "no case routed twice"
    assert counts["forwarded"][0] == counts["forwarded"][1] == counts["routed"][0], "each case forwarded once"
    assert counts["received"]["unique_cases"] == counts["routed"][0], "each case once at the agencies"
    said = [line.get("service") for line in log_lines(system) if line.get("event") == "service_process_restarted"]
    assert sorted(said) == ["reporting", "routing"], said
    code, seconds = timed_stop(system, signal.SIGTERM)
    assert code == 0 and seconds <= STOP_BOUND, (code, seconds, system.log_tail())


def test_a_service_that_cannot_start_stops_the_others_and_up_exits_non_zero(tmp_path):
    data_dir = tmp_path / "data"
    blocked = tmp_path / "not-a-dir"
    blocked.write_text("a file where routing's store's directory should be")
    env = {**RunningSystem.env("INFO"), **PROCESSES,
           "SK_ROUTING_DATABASE_URL": f"sqlite+aiosqlite:///{blocked}/routing.db"}
    ports = {s: free_port() for s in SERVICES}
    args = [sys.executable, "-m", "servicekontor.cli", "up", "--data-dir", str(data_dir)]
    for service, port in ports.items():
        args += [f"--{service.replace('_', '-')}-port", str(port)]
    log_path = tmp_path / "up.log"
    with log_path.open("ab") as out:
        process = subprocess.Popen(args, env=env, stdout=out, stderr=out)
    try:
        code = process.wait(timeout=scaled(120))
    finally:
        if process.poll() is None:
            process.kill()
    assert code != 0
    lines = log_lines(RunningSystem(data_dir, log_path))
    failed = [line for line in lines if line.get("event") == "service_process_failed_to_start"]
    assert [line.get("service") for line in failed] == ["routing"], log_path.read_text()[-3000:]
    assert read_instance(data_dir, alive_only=False) is None, "no card for a system that never ran"
    for port in ports.values():  # every process has ended: every port is free again
        with socket.socket() as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(("127.0.0.1", port))


@pytest.mark.skipif(sys.platform != "linux", reason="the kernel ends the children with the supervisor on Linux")
def test_kill_9_of_up_ends_every_process_and_a_new_up_starts_on_the_same_ports(processes_system):
    system = processes_system
    children = service_processes(system.process.pid)
    system.process.kill()
    system.process.wait(timeout=scaled(10))
    wait_until(lambda: not any(alive(pid) for pid in children.values()), timeout=10)
    started = time.monotonic()
    system.any_port = False
    system.start()  # the same ports (the card's), at once
    assert time.monotonic() - started < scaled(60)
    visit = httpx.post(system.url("intake", "/v1/visits"), json={"office_id": "umea", "channel": "kiosk"},
                       headers=system.headers("kiosk"), timeout=10)
    assert visit.status_code == 201, visit.text
