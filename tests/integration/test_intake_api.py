"""Intake's API on its real SQLite store: the contract, and bad input that gets a clear
4xx JSON error and leaves nothing half-written."""

from __future__ import annotations

import sqlite3

import pytest

from services.intake.bootstrap import bootstrap
from services.intake.config import IntakeSettings
from tests.helpers import api_client


@pytest.fixture
async def client(tmp_path):
    runtime = bootstrap(IntakeSettings(data_dir=tmp_path))
    await runtime.init_db()
    async with api_client(runtime) as client:
        client.db_path = tmp_path / "intake.db"
        yield client
    await runtime.close()


def event_count(path) -> int:
    with sqlite3.connect(path) as db:
        return db.execute("select count(*) from event_store").fetchone()[0]


async def new_visit(client) -> str:
    response = await client.post("/v1/visits", json={"office_id": "kiruna", "channel": "desk"})
    assert response.status_code == 201
    return response.json()["visit_id"]


async def test_a_whole_visit_through_the_contract_endpoints(client):
    response = await client.post("/v1/visits", json={"office_id": "kiruna", "channel": "kiosk", "agency": "skatteverket"})
    assert response.status_code == 201
    body = response.json()
    assert body["ticket"] == "A001" and body["registered_at"]
    vid = body["visit_id"]
    assert (await client.post(f"/v1/visits/{vid}/call", json={"desk": "D2"})).status_code == 200
    q = await client.post(f"/v1/visits/{vid}/questions", json={"text": "Id-kort", "agency": "skatteverket", "case_type": "id_kort", "personal_identity_number": "19811218-9876"})
    assert q.status_code == 201 and q.json()["visit_id"] == vid
    qid = q.json()["question_id"]
    assert (await client.post(f"/v1/questions/{qid}/resolution", json={"outcome": "forwarded"})).status_code == 200
    end = await client.post(f"/v1/visits/{vid}/end", json={"satisfaction": {"treatment": 5, "time": 4, "got_help": True}})
    assert end.status_code == 200
    visit = (await client.get(f"/v1/visits/{vid}")).json()
    assert visit["desk"] == "D2" and visit["ended_at"] and visit["satisfaction"]["got_help"] is True
    assert visit["questions"][0]["outcome"] == "forwarded"
    assert visit["questions"][0]["has_personal_identity_number"] is True
    assert "9876" not in str(visit)
    assert event_count(client.db_path) == 5


BAD_VISITS = [
    ({}, 422, "validation_error"),
    ({"office_id": "kiruna"}, 422, "validation_error"),
    ({"office_id": "kiruna", "channel": "phone"}, 422, "validation_error"),
    ({"office_id": 7, "channel": "kiosk"}, 422, "validation_error"),
    ({"office_id": "Kiruna Centrum!", "channel": "kiosk"}, 422, "validation_error"),
    ({"office_id": "kiruna", "channel": "kiosk", "agency": "riksbanken"}, 422, "invalid_input"),
    ({"office_id": "kiruna", "channel": "kiosk", "extra": 1}, 422, "validation_error"),
    ([], 422, "validation_error"),
]


@pytest.mark.parametrize(("body", "status", "code"), BAD_VISITS)
async def test_bad_visits_get_a_json_4xx_and_write_nothing(client, body, status, code):
    response = await client.post("/v1/visits", json=body)
    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert event_count(client.db_path) == 0


BAD_QUESTIONS = [
    ({}, 422),
    ({"text": ""}, 422),
    ({"text": 42}, 422),
    ({"text": "x" * 4001}, 422),
    ({"text": "hej", "agency": "skatteverket", "case_type": "bostadsbidrag"}, 422),
    ({"text": "hej", "case_type": "ovrigt"}, 422),
    ({"text": "hej", "personal_identity_number": "811218-9875"}, 422),
    ({"text": "hej", "personal_identity_number": 198112189876}, 422),
]


@pytest.mark.parametrize(("body", "status"), BAD_QUESTIONS)
async def test_bad_questions_get_a_json_4xx_and_write_nothing(client, body, status):
    vid = await new_visit(client)
    response = await client.post(f"/v1/visits/{vid}/questions", json=body)
    assert response.status_code == status
    assert set(response.json()["error"]) == {"code", "message", "details"}
    assert event_count(client.db_path) == 1


async def test_unknown_ids_are_404_json(client):
    for method, path, body in [
        ("post", "/v1/visits/nope/call", {"desk": "D1"}),
        ("post", "/v1/visits/nope/questions", {"text": "hej"}),
        ("post", "/v1/questions/nope/resolution", {"outcome": "answered"}),
        ("post", "/v1/visits/nope/end", {}),
        ("get", "/v1/visits/nope", None),
        ("get", "/v1/no-such-route", None),
    ]:
        response = await client.request(method.upper(), path, json=body)
        assert response.status_code == 404, path
        assert response.json()["error"]["code"] == "not_found"


async def test_huge_and_malformed_bodies_are_refused(client):
    huge = await client.post("/v1/visits", content=b"{" + b" " * 200_000 + b"}", headers={"content-type": "application/json"})
    assert huge.status_code == 413 and huge.json()["error"]["code"] == "body_too_large"
    broken = await client.post("/v1/visits", content=b'{"office_id": ', headers={"content-type": "application/json"})
    assert broken.status_code == 422
    satisfaction = {"satisfaction": {"treatment": 9, "time": 1, "got_help": True}}
    vid = await new_visit(client)
    assert (await client.post(f"/v1/visits/{vid}/end", json=satisfaction)).status_code == 422
    assert event_count(client.db_path) == 1


async def test_health_ready_and_openapi(client):
    health = await client.get("/health", headers={"x-request-id": "abc123"})
    assert health.json() == {"status": "ok"} and health.headers["x-request-id"] == "abc123"
    assert len((await client.get("/health")).headers["x-request-id"]) == 32
    assert (await client.get("/ready")).json()["ready"] is True
    paths = (await client.get("/openapi.json")).json()["paths"]
    assert "/v1/visits/{visit_id}/questions" in paths
