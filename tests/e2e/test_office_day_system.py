"""The office day on the running system (``servicekontor up``): a SIGKILL in the middle of
the day, with kiosks still taking tickets, and a restart: the queue is exactly what it was,
because it is nothing but a projection of intake's events."""

from __future__ import annotations

import signal
import threading

import httpx

from tests.e2e.conftest import RunningSystem
from tests.helpers import wait_until

OFFICE = "lulea"


def queue_now(system: RunningSystem) -> dict:
    response = httpx.get(system.url("intake", f"/v1/offices/{OFFICE}/queue"), headers=system.headers("desk"), timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def steady(board: dict) -> dict:
    """What must survive a restart: queues, tickets in order, desks and recent calls."""
    return {
        "queues": [(q["queue"], q["waiting"], [(t["ticket"], t["visit_id"]) for t in q["tickets"]], q["desks_open"])
                   for q in board["queues"]],
        "recently_called": [(c["ticket"], c["desk"], c["called_at"]) for c in board["recently_called"]],
        "desks": board["desks"],
    }


def test_sigkill_mid_day_then_restart_shows_the_same_queue(system):
    kiosk, desk = system.headers("kiosk"), system.headers("desk")
    with httpx.Client(base_url=system.url("intake"), timeout=10) as http:
        for name, queues in (("1", ["general", "booked"]), ("2", ["id_card"]), ("3", [])):
            assert http.post(f"/v1/offices/{OFFICE}/desks/{name}/open", json={"queues": queues}, headers=desk).status_code == 200
        for queue in ["general", "id_card", "general", "booked", "polisen", "general", "id_card"]:
            assert http.post("/v1/visits", json={"office_id": OFFICE, "channel": "kiosk", "queue": queue}, headers=kiosk).status_code == 201
        first = http.post(f"/v1/offices/{OFFICE}/desks/1/call-next", json={}, headers=desk).json()
        assert first["queue"] == "booked"  # booked appointments first
        http.post(f"/v1/offices/{OFFICE}/desks/2/call-next", json={}, headers=desk).raise_for_status()
        http.post(f"/v1/visits/{first['visit_id']}/transfer", json={"queue": "polisen"}, headers=desk).raise_for_status()
        http.post(f"/v1/offices/{OFFICE}/desks/3/close", headers=desk).raise_for_status()
    before = steady(queue_now(system))

    # Kiosks keep taking tickets while the process is killed: every ticket that was
    # answered 201 must be in the queue after the restart, and nothing else new.
    answered: list[str] = []
    stop = threading.Event()

    def kiosk_keeps_going() -> None:
        with httpx.Client(base_url=system.url("intake"), timeout=5) as http:
            while not stop.is_set():
                try:
                    response = http.post("/v1/visits", json={"office_id": OFFICE, "channel": "kiosk", "queue": "self_service"}, headers=kiosk)
                except httpx.HTTPError:
                    return
                if response.status_code == 201:
                    answered.append(response.json()["visit_id"])

    worker = threading.Thread(target=kiosk_keeps_going)
    worker.start()
    wait_until(lambda: len(answered) >= 5, timeout=30)
    system.stop(signal.SIGKILL)
    stop.set()
    worker.join(timeout=30)

    system.start()
    after = queue_now(system)
    self_service = next(q for q in after["queues"] if q["queue"] == "self_service")
    committed = {row[0] for row in system.query(
        "intake", "select stream_id from event_store where event_type='intake.VisitRegistered' "
                  "and json_extract(payload, '$.queue')='self_service'")}
    in_queue = {t["visit_id"] for t in self_service["tickets"]}
    assert set(answered) <= in_queue == committed
    after["queues"] = [q for q in after["queues"] if q["queue"] != "self_service"]
    before["queues"] = [q for q in before["queues"] if q[0] != "self_service"]
    assert steady(after) == before
