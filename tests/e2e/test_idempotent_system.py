"""End to end on the embedded system (``servicekontor up``): a kiosk that sends its ticket
and a complex question three times each, with one ``Idempotency-Key`` per action (a
retry after a lost answer, some of them at the same moment), gets one visit and one
question, and the agency gets one case."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.e2e.erasure import PIN
from tests.helpers import wait_until

pytestmark = pytest.mark.e2e


def get_json(url: str, headers: dict | None = None) -> dict | None:
    response = httpx.get(url, headers=headers, timeout=10)
    return response.json() if response.status_code == 200 else None


def test_a_complex_question_sent_three_times_with_one_key_is_one_agency_case(system):
    kiosk, supervisor = system.headers("kiosk"), system.headers("supervisor")

    def send(path: str, body: dict, key: str) -> httpx.Response:
        return httpx.post(system.url("intake", path), json=body, headers={**kiosk, "Idempotency-Key": key}, timeout=10)

    visit_key = str(uuid.uuid4())
    visits = [send("/v1/visits", {"office_id": "umea", "channel": "kiosk"}, visit_key) for _ in range(3)]
    assert [v.status_code for v in visits] == [201, 201, 201] and len({v.text for v in visits}) == 1
    visit_id = visits[0].json()["visit_id"]

    question_key, path = str(uuid.uuid4()), f"/v1/visits/{visit_id}/questions"
    body = {"text": "Jag vill ansöka om id-kort", "personal_identity_number": PIN}
    first = send(path, body, question_key)
    with ThreadPoolExecutor(2) as pool:  # two more at once: one still in flight, one late
        retries = list(pool.map(lambda _: send(path, body, question_key), range(2)))
    assert first.status_code == 201 and all(r.status_code == 201 for r in retries), [r.text for r in retries]
    assert {r.json()["question_id"] for r in retries} == {first.json()["question_id"]}
    assert all(r.headers["idempotent-replayed"] == "true" for r in retries)
    question_id = first.json()["question_id"]

    delivery = wait_until(
        lambda: (d := get_json(system.url("agency_gateway", f"/v1/deliveries/{question_id}"), supervisor))
        and d["status"] == "delivered" and d
    )
    assert delivery["agency"] == "skatteverket"
    received = get_json(system.url("agency_simulator", "/v1/received"))
    assert (received["unique_cases"], received["duplicates"]) == (1, 0)
    assert system.query("intake", "SELECT event_type, COUNT(*) FROM event_store GROUP BY event_type") == [
        ("intake.QuestionRecorded", 1), ("intake.VisitRegistered", 1),
    ]
    assert system.query("agency_gateway", "SELECT COUNT(*) FROM gateway_deliveries") == [(1,)]
    stored = system.query("intake", "SELECT status, COUNT(*) FROM idempotency_keys GROUP BY status ORDER BY status")
    assert stored == [(201, 2)]
