"""``Idempotency-Key`` on intake's and routing's writes (shared/idempotency.py), on their real
stores: a retry with the key gets the first answer and records nothing, another body
with the key is a 422, no key behaves as before, a malformed key is a 422; the answers
survive a restart; twins sent at once make one visit, on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import uuid
from collections import Counter
from datetime import UTC, datetime

import httpx
import pytest
import sqlalchemy as sa
from alembic import command

from services.intake.bootstrap import bootstrap
from services.intake.config import IntakeSettings
from services.intake.domain.events import QuestionRecorded
from services.routing.bootstrap import bootstrap as routing_bootstrap
from services.routing.config import RoutingSettings
from shared import topics
from shared.db import create_engine
from shared.events import EventEnvelope
from shared.idempotency import KEY_HEADER, IdempotentRoute, idempotency
from shared.migrations import alembic_config
from shared.tracking import Checkpoint
from tests.helpers import api_client, auth, random_id
from tests.integration import test_office_day_api as office_day_api

OFFICE = "lulea"
PIN = "19811218-9876"
VISIT = {"office_id": OFFICE, "channel": "kiosk"}


# Intake on SQLite (and a client of its API): the office-day API tests' fixtures.
runtime, client = office_day_api.runtime, office_day_api.client


def key() -> dict[str, str]:
    return {KEY_HEADER: str(uuid.uuid4())}


def events(runtime, event_type: str | None = None) -> list[dict]:
    with sqlite3.connect(runtime.settings.data_dir / f"{runtime.name}.db") as db:
        rows = db.execute("SELECT event_type, payload FROM event_store ORDER BY position").fetchall()
    return [json.loads(p) for t, p in rows if event_type is None or t == event_type]


def vault_keys(runtime) -> int:
    with sqlite3.connect(runtime.settings.data_dir / "vault.db") as db:
        return db.execute("SELECT COUNT(*) FROM vault_visit_keys").fetchone()[0]


async def post(client, path: str, body: dict | None, headers: dict[str, str], status: int = 201) -> httpx.Response:
    response = await client.post(path, json=body, headers=headers)
    assert response.status_code == status, response.text
    return response


# -- the contract --------------------------------------------------------------------------
async def test_the_same_key_and_body_get_the_first_answer_and_make_one_visit(runtime, client):
    sent = key()
    first, *retries = [await post(client, "/v1/visits", VISIT, sent) for _ in range(3)]
    assert KEY_HEADER.lower() not in first.headers and "idempotent-replayed" not in first.headers
    for retry in retries:
        assert retry.json() == first.json() and retry.headers["idempotent-replayed"] == "true"
        assert retry.headers["content-type"] == "application/json"
    assert first.json()["ticket"] == "A001" and first.json()["position"] == 1
    assert len(events(runtime, "intake.VisitRegistered")) == 1
    # The retries took no ticket number either: the next visitor is A002.
    assert (await post(client, "/v1/visits", VISIT, key())).json()["ticket"] == "A002"
    # The key order and spacing of the body do not make it another request.
    reordered = await client.post("/v1/visits", content=b'{ "channel": "kiosk",  "office_id": "lulea" }',
                                  headers={**sent, "content-type": "application/json"})
    assert reordered.status_code == 201 and reordered.json() == first.json()


async def test_the_same_key_with_another_body_is_a_json_422_and_records_nothing(runtime, client):
    sent = key()
    await post(client, "/v1/visits", VISIT, sent)
    other = await client.post("/v1/visits", json={**VISIT, "queue": "id_card"}, headers=sent)
    assert other.status_code == 422
    assert other.json()["error"]["code"] == "idempotency_key_reused"
    assert KEY_HEADER in other.json()["error"]["message"]
    # The same key on another route (another path) is another request too.
    visit_id = events(runtime, "intake.VisitRegistered")[0]["visit_id"]
    elsewhere = await client.post(f"/v1/visits/{visit_id}/questions", json={"text": "Hej"}, headers=sent)
    assert elsewhere.status_code == 422 and elsewhere.json()["error"]["code"] == "idempotency_key_reused"
    assert len(events(runtime)) == 1


async def test_without_a_key_two_posts_are_two_visits(runtime, client):
    one, two = [(await post(client, "/v1/visits", VISIT, {})).json() for _ in range(2)]
    assert one["visit_id"] != two["visit_id"] and (one["ticket"], two["ticket"]) == ("A001", "A002")
    assert len(events(runtime, "intake.VisitRegistered")) == 2


@pytest.mark.parametrize("bad", ["", " ", "a b", "x" * 256, "tab\there", "ä".encode(), b"\x7f"])
async def test_a_malformed_key_is_a_json_422_and_records_nothing(runtime, client, bad):
    response = await client.post("/v1/visits", json=VISIT, headers={KEY_HEADER: bad})
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "validation_error" and error["details"][0]["location"] == ["header", KEY_HEADER]
    assert events(runtime) == []


async def test_the_drafts_quoted_key_and_a_bare_one_are_the_same_key(runtime, client):
    bare = str(uuid.uuid4())
    first = await post(client, "/v1/visits", VISIT, {KEY_HEADER: bare})
    again = await post(client, "/v1/visits", VISIT, {KEY_HEADER: f'"{bare}"'})
    assert again.json() == first.json() and len(events(runtime)) == 1
    assert (await post(client, "/v1/visits", VISIT, {KEY_HEADER: "x" * 255})).json() != first.json()


async def test_another_caller_sending_the_same_key_makes_its_own_visit(runtime, client):
    sent = key()
    mine = (await post(client, "/v1/visits", VISIT, sent)).json()
    kiosk = auth(runtime.settings.data_dir, "kiosk", subject="kiosk-2")
    theirs = (await post(client, "/v1/visits", VISIT, {**kiosk, **sent})).json()
    assert theirs["visit_id"] != mine["visit_id"]
    assert len(events(runtime, "intake.VisitRegistered")) == 2


async def test_a_refused_request_stored_nothing_and_is_judged_again(runtime, client):
    sent = key()
    refused = await client.post("/v1/visits", json={**VISIT, "agency": "riksbanken"}, headers=sent)
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "invalid_input"
    again = await client.post("/v1/visits", json={**VISIT, "agency": "riksbanken"}, headers=sent)
    assert again.status_code == 422 and "idempotent-replayed" not in again.headers
    # Nothing was stored under the key: a corrected request may use it.
    assert (await post(client, "/v1/visits", VISIT, sent)).json()["ticket"] == "A001"


async def test_a_question_sent_three_times_with_one_key_is_one_question(runtime, client):
    visit_id = (await post(client, "/v1/visits", VISIT, key())).json()["visit_id"]
    sent, body = key(), {"text": "Jag vill ansöka om id-kort", "personal_identity_number": PIN}
    answers = [(await post(client, f"/v1/visits/{visit_id}/questions", body, sent)).json() for _ in range(3)]
    assert answers[0] == answers[1] == answers[2] and answers[0]["visit_id"] == visit_id
    assert [e["question_id"] for e in events(runtime, "intake.QuestionRecorded")] == [answers[0]["question_id"]]
    assert vault_keys(runtime) == 1
    visit = (await client.get(f"/v1/visits/{visit_id}")).json()
    assert len(visit["questions"]) == 1
    # Without a key, the same question twice is two questions (as before).
    for _ in range(2):
        await post(client, f"/v1/visits/{visit_id}/questions", {"text": "Hej"}, {})
    assert len(events(runtime, "intake.QuestionRecorded")) == 3


async def test_every_office_day_write_answers_a_retry_with_its_first_answer(runtime, client):
    """A retried call-next calls the same visitor (not the next one), a retried transfer is
    one transfer, a retried no-show is its 200 (not the 409 of a visit already ended)."""
    desk = f"/v1/offices/{OFFICE}/desks"
    tickets = [(await post(client, "/v1/visits", VISIT, key())).json() for _ in range(3)]

    async def twice(path: str, body: dict | None, status: int = 200) -> dict:
        sent = key()
        first = await post(client, path, body, sent, status)
        again = await post(client, path, body, sent, status)
        assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
        return first.json()

    await twice(f"{desk}/D1/open", {"queues": ["general"]})
    called = await twice(f"{desk}/D1/call-next", {"queues": ["general"]})
    assert called["visit_id"] == tickets[0]["visit_id"]
    await twice(f"/v1/visits/{called['visit_id']}/recall", {"desk": "D1"})
    await twice(f"/v1/visits/{called['visit_id']}/transfer", {"queue": "general"})
    again = await twice(f"{desk}/D1/call-next", None)
    assert again["visit_id"] == tickets[0]["visit_id"]  # transferred, it keeps its place
    await twice(f"/v1/visits/{again['visit_id']}/no-show", {"desk": "D1"})
    second = await twice(f"{desk}/D1/call-next", {"queues": ["general"]})
    assert second["visit_id"] == tickets[1]["visit_id"]
    await twice(f"/v1/visits/{tickets[2]['visit_id']}/call", {"desk": "D2"})
    question = (await post(client, f"/v1/visits/{second['visit_id']}/questions", {"text": "Hej"}, key())).json()
    await twice(f"/v1/questions/{question['question_id']}/resolution", {"outcome": "answered"})
    await twice(f"/v1/visits/{second['visit_id']}/end", {})
    await twice(f"{desk}/D1/close", None)
    counted = Counter(e_type for e_type in _types(runtime))
    assert counted == {
        "intake.VisitRegistered": 3, "intake.DeskOpened": 1, "intake.VisitCalled": 4, "intake.VisitRecalled": 1,
        "intake.VisitTransferred": 1, "intake.VisitMarkedNoShow": 1, "intake.QuestionRecorded": 1,
        "intake.QuestionResolved": 1, "intake.VisitEnded": 1, "intake.DeskClosed": 1,
    }
    # Nobody left waiting in the queue: an empty call-next is a 204 and stores nothing.
    sent = key()
    assert (await client.post(f"{desk}/D9/call-next", json={"queues": ["id_card"]}, headers=sent)).status_code == 204
    assert (await client.post(f"{desk}/D9/call-next", json={"queues": ["id_card"]}, headers=sent)).status_code == 204


def _types(runtime) -> list[str]:
    with sqlite3.connect(runtime.settings.data_dir / "intake.db") as db:
        return [t for (t,) in db.execute("SELECT event_type FROM event_store")]


async def test_the_stored_answer_survives_a_restart(tmp_path):
    settings = IntakeSettings(data_dir=tmp_path)
    sent = key()
    first_runtime = bootstrap(settings)
    await first_runtime.init_db()
    async with api_client(first_runtime) as client:
        first = (await post(client, "/v1/visits", VISIT, sent)).json()
    await first_runtime.close()
    restarted = bootstrap(settings)  # a new process: a new app on the same database
    await restarted.init_db()
    try:
        async with api_client(restarted) as client:
            again = await post(client, "/v1/visits", VISIT, sent)
            other = await client.post("/v1/visits", json={**VISIT, "channel": "desk"}, headers=sent)
        assert again.json() == first and again.headers["idempotent-replayed"] == "true"
        assert other.status_code == 422
        assert len(events(restarted, "intake.VisitRegistered")) == 1
    finally:
        await restarted.close()


async def test_twins_sent_at_once_make_one_visit_on_sqlite(runtime, client):
    sent = key()
    answers = await asyncio.gather(*(client.post("/v1/visits", json=VISIT, headers=sent) for _ in range(8)))
    assert {a.status_code for a in answers} == {201}
    assert len({a.text for a in answers}) == 1
    assert len(events(runtime, "intake.VisitRegistered")) == 1
    visit_id = answers[0].json()["visit_id"]
    body, sent = {"text": "Jag vill ansöka om id-kort", "personal_identity_number": PIN}, key()
    questions = await asyncio.gather(
        *(client.post(f"/v1/visits/{visit_id}/questions", json=body, headers=sent) for _ in range(5))
    )
    assert {q.status_code for q in questions} == {201} and len({q.text for q in questions}) == 1
    assert len(events(runtime, "intake.QuestionRecorded")) == 1


# -- routing's override --------------------------------------------------------------------
async def test_a_retried_override_is_one_revision_of_the_decision(tmp_path):
    runtime = routing_bootstrap(RoutingSettings(data_dir=tmp_path))
    await runtime.init_db()
    try:
        event = QuestionRecorded(
            visit_id=random_id(), question_id=random_id(), office_id="ostersund", text="Hur ansöker jag om bostadsbidrag?",
            agency=None, case_type=None, personal_identity_number=None, recorded_at=datetime.now(UTC),
        )
        envelope = EventEnvelope.wrap(event, stream_id=event.visit_id, stream_version=2)
        await runtime.consumers[0].handle(envelope, Checkpoint(topics.INTAKE, 0, 1))
        path = f"/v1/questions/{event.question_id}/override"
        body = {"level": "complex", "agency": "skatteverket", "case_type": "id_kort", "reason": "id-kort", "handler": "h-7"}
        sent = key()
        async with api_client(runtime) as client:
            answers = [await client.post(path, json=body, headers=sent) for _ in range(3)]
            other = await client.post(path, json={**body, "reason": "annat"}, headers=sent)
            decision = (await client.get(f"/v1/questions/{event.question_id}/decision")).json()
        assert [a.status_code for a in answers] == [200, 200, 200] and other.status_code == 422
        assert answers[0].json() == answers[1].json() == answers[2].json() == decision
        assert answers[0].json()["overridden"] and answers[2].headers["idempotent-replayed"] == "true"
        with sqlite3.connect(tmp_path / "routing.db") as db:
            types = [t for (t,) in db.execute("SELECT event_type FROM event_store")]
        assert types.count("routing.ClassificationOverridden") == 1
        assert types.count("routing.CaseRoutedToAgency") == 1
    finally:
        await runtime.close()


# -- the API description -------------------------------------------------------------------
async def test_every_write_documents_the_header_and_is_wired_to_answer_a_replay(runtime, tmp_path):
    routing = routing_bootstrap(RoutingSettings(data_dir=tmp_path / "routing"))
    try:
        for service in (runtime, routing):
            paths = service.app.openapi()["paths"]
            posts = {p: ops["post"] for p, ops in paths.items() if "post" in ops}
            assert posts
            for path, operation in posts.items():
                headers = [p for p in operation.get("parameters", []) if p["in"] == "header"]
                assert [h["name"] for h in headers] == [KEY_HEADER], path
                assert headers[0]["required"] is False and "retry" in headers[0]["description"]
            for route in service.app.routes:
                uses = getattr(route, "dependant", None) and _depends_on(route.dependant, idempotency)
                if uses:
                    assert isinstance(route, IdempotentRoute), route.path
    finally:
        await routing.close()


def _depends_on(dependant, call) -> bool:
    return any(d.call is call or _depends_on(d, call) for d in dependant.dependencies)


# -- PostgreSQL ----------------------------------------------------------------------------
@pytest.mark.realservers
async def test_on_postgresql_twins_on_two_replicas_make_one_visit_and_one_question(real_servers, tmp_path):
    url = await real_servers.fresh_database()
    settings = IntakeSettings(data_dir=tmp_path, database_url=url, intake_database_url=None, vault_database_url=None)
    replicas = [bootstrap(settings), bootstrap(settings)]
    await replicas[0].init_db()
    await replicas[1].init_db()
    try:
        async with api_client(replicas[0]) as one, api_client(replicas[1]) as two:
            sent = key()
            answers = await asyncio.gather(*(c.post("/v1/visits", json=VISIT, headers=sent) for c in [one, two] * 6))
            assert {a.status_code for a in answers} == {201}, [a.text for a in answers]
            assert len({a.text for a in answers}) == 1
            assert sum(a.headers.get("idempotent-replayed") == "true" for a in answers) == 11
            visit_id = answers[0].json()["visit_id"]
            body, sent = {"text": "Jag vill ansöka om id-kort", "personal_identity_number": PIN}, key()
            questions = await asyncio.gather(
                *(c.post(f"/v1/visits/{visit_id}/questions", json=body, headers=sent) for c in [one, two] * 3)
            )
            assert {q.status_code for q in questions} == {201} and len({q.text for q in questions}) == 1
            other = await two.post(f"/v1/visits/{visit_id}/questions", json={"text": "annat"}, headers=sent)
            assert other.status_code == 422
        async with replicas[0].engine.connect() as conn:
            counted = dict((await conn.execute(sa.text(
                "SELECT event_type, COUNT(*) FROM intake.event_store GROUP BY event_type"
            ))).all())
            stored = (await conn.execute(sa.text("SELECT COUNT(*) FROM intake.idempotency_keys"))).scalar()
        assert counted == {"intake.VisitRegistered": 1, "intake.QuestionRecorded": 1}
        assert stored == 2
    finally:
        for replica in replicas:
            await replica.close()


@pytest.mark.realservers
async def test_on_postgresql_migration_0003_adds_the_table_to_a_schema_made_before_it(real_servers, tmp_path):
    url = await real_servers.fresh_database()
    settings = IntakeSettings(data_dir=tmp_path, database_url=url, intake_database_url=None, vault_database_url=None)
    runtime = bootstrap(settings)
    before = [t for t in runtime.tables if t.name != "idempotency_keys"]  # intake before 0003
    engine = create_engine(url, schema="intake")
    try:
        async with engine.begin() as conn:
            await conn.execute(sa.text('CREATE SCHEMA IF NOT EXISTS "intake"'))
            await conn.run_sync(lambda sync: command.upgrade(alembic_config("intake", before, sync), "0002_office_day"))
            assert not await conn.scalar(sa.text("SELECT to_regclass('intake.idempotency_keys')"))
        await engine.dispose()
        await runtime.init_db()  # migrates to head
        async with runtime.engine.connect() as conn:
            assert await conn.scalar(sa.text("SELECT version_num FROM intake.alembic_version")) == "0008_booking_visit_links"  # head: 0003 ... 0008
        sent = key()
        async with api_client(runtime) as client:
            first = await post(client, "/v1/visits", VISIT, sent)
            again = await post(client, "/v1/visits", VISIT, sent)
        assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    finally:
        await engine.dispose()
        await runtime.close()
