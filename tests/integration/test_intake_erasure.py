"""Erasure on intake's real SQLite store and vault: the admin's endpoint and the retention
worker both destroy the visit's data key and record ``intake.PersonalDataErased``."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest

from services.intake.bootstrap import bootstrap
from services.intake.config import IntakeSettings
from shared.events import utc_now
from shared.runtime import ServiceRuntime
from tests.helpers import auth, eventually

PIN = "19811218-9876"


@pytest.fixture
async def runtime(tmp_path) -> AsyncIterator[ServiceRuntime]:
    built = bootstrap(IntakeSettings(data_dir=tmp_path, retention_days=30, retention_interval_seconds=3600))
    await built.init_db()
    yield built
    await built.close()


def client(runtime: ServiceRuntime, role: str | None = "admin", subject: str | None = None) -> httpx.AsyncClient:
    headers = auth(runtime.settings.data_dir, role, subject=subject) if role else {}
    transport = httpx.ASGITransport(app=runtime.app)
    return httpx.AsyncClient(transport=transport, base_url="http://intake", headers=headers)


async def visit_with_pin(runtime: ServiceRuntime) -> tuple[str, str]:
    async with client(runtime, "desk") as desk:
        visit = await desk.post("/v1/visits", json={"office_id": "kiruna", "channel": "desk"})
        visit_id = visit.json()["visit_id"]
        body = {"text": "Id-kort", "agency": "polisen", "personal_identity_number": PIN}
        question = await desk.post(f"/v1/visits/{visit_id}/questions", json=body)
        assert question.status_code == 201, question.text
    sealed = next(
        json.loads(p)["personal_identity_number"]
        for t, p in query(runtime, "intake", "SELECT event_type, payload FROM event_store")
        if t == "intake.QuestionRecorded" and json.loads(p)["visit_id"] == visit_id
    )
    return visit_id, sealed


def query(runtime: ServiceRuntime, db: str, sql: str) -> list[tuple]:
    with sqlite3.connect(runtime.settings.data_dir / f"{db}.db") as conn:
        return conn.execute(sql).fetchall()


def erasure_events(runtime: ServiceRuntime) -> list[dict]:
    rows = query(runtime, "intake", "SELECT payload FROM event_store WHERE event_type = 'intake.PersonalDataErased'")
    return [json.loads(p) for (p,) in rows]


async def test_an_admin_erases_a_visit_and_the_token_names_who(runtime):
    visit_id, sealed = await visit_with_pin(runtime)
    vault = runtime.deps.vault
    assert await vault.decrypt(sealed) == "198112189876"
    async with client(runtime, "admin", subject="anna-admin") as admin:
        response = await admin.delete(f"/v1/visits/{visit_id}/personal-data")
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["visit_id"] == visit_id and body["key_destroyed"] is True
        assert body["erased_by"] == "anna-admin" and body["erased_at"]
        again = (await admin.delete(f"/v1/visits/{visit_id}/personal-data")).json()
        assert again["key_destroyed"] is False
        visit = (await admin.get(f"/v1/visits/{visit_id}")).json()
    assert await vault.decrypt(sealed) is None
    assert [e["actor"] for e in erasure_events(runtime)] == ["anna-admin", "anna-admin"]
    assert visit["questions"][0]["has_personal_identity_number"] is False


async def test_an_unknown_visit_is_a_json_404_and_only_an_admin_may_erase(runtime):
    async with client(runtime, "admin") as admin:
        missing = await admin.delete("/v1/visits/no-such-visit/personal-data")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    visit_id, sealed = await visit_with_pin(runtime)
    for role, status in (("desk", 403), ("supervisor", 403), (None, 401)):
        async with client(runtime, role) as other:
            assert (await other.delete(f"/v1/visits/{visit_id}/personal-data")).status_code == status
    assert erasure_events(runtime) == []
    assert await runtime.deps.vault.decrypt(sealed) == "198112189876"


async def test_the_retention_worker_erases_keys_past_their_time_and_records_it(runtime):
    old_visit, old_sealed = await visit_with_pin(runtime)
    young_visit, young_sealed = await visit_with_pin(runtime)
    # The old visit's key was made 31 days ago; the young one's is fresh.
    with sqlite3.connect(runtime.settings.data_dir / "vault.db") as conn:
        conn.execute(
            "UPDATE vault_visit_keys SET created_at = ? WHERE visit_id = ?",
            ((utc_now() - timedelta(days=31)).replace(tzinfo=None).isoformat(" "), old_visit),
        )
    assert runtime.deps.retention.run in runtime.workers
    worker = asyncio.create_task(runtime.deps.retention.run())
    try:
        await eventually(lambda: asyncio.sleep(0, erasure_events(runtime)), bool)
    finally:
        worker.cancel()
        await asyncio.gather(worker, return_exceptions=True)
    assert [(e["visit_id"], e["actor"]) for e in erasure_events(runtime)] == [(old_visit, "retention")]
    vault = runtime.deps.vault
    assert await vault.decrypt(old_sealed) is None
    assert await vault.decrypt(young_sealed) == "198112189876"


async def test_without_retention_days_there_is_no_worker(tmp_path):
    built = bootstrap(IntakeSettings(data_dir=tmp_path))
    try:
        assert built.deps.retention is None
        assert built.workers == [built.deps.office_day.feed.run, built.deps.no_shows.run]  # no retention worker
    finally:
        await built.close()
