"""The audit trail end to end on SQLite with the embedded bus: an override (routing), a
dead-letter replay (gateway), an erasure (intake) and an export (reporting) each reach
``GET /v1/audit`` with the token subject as actor; only supervisors and admins read it;
it survives a replay of the logs and a rebuild of an outdated store."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest

from servicekontor.runner import SERVICES, bootstrap_service, service_settings
from services.agency_gateway.domain.outcomes import Rejected
from services.agency_gateway.handlers import record_outcome
from services.reporting.adapters.event_log import SqliteEventLog
from services.reporting.handlers.replay import replay
from shared import topics
from shared.bus import EmbeddedBus
from shared.runtime import ServiceRuntime
from tests.helpers import auth, eventually

ACTORS = {"override": "sara-supervisor", "replay": "eva-admin", "erasure": "anna-admin", "export": "bertil-bi"}


@dataclass
class System:
    data_dir: Path
    runtimes: dict[str, ServiceRuntime]
    bus: EmbeddedBus
    task: asyncio.Task | None = None

    def client(self, service: str, role: str | None, subject: str | None = None) -> httpx.AsyncClient:
        headers = auth(self.data_dir, role, subject=subject) if role else {}
        transport = httpx.ASGITransport(app=self.runtimes[service].app)
        return httpx.AsyncClient(transport=transport, base_url=f"http://{service}", headers=headers)

    async def audit(self, role: str = "supervisor", **params) -> httpx.Response:
        async with self.client("reporting", role) as client:
            return await client.get("/v1/audit", params=params)


async def start(data_dir: Path) -> System:
    """The four services on one embedded bus; the gateway's delivery worker stays off, so
    a case waits in the gateway until the test dead-letters it."""
    bus = EmbeddedBus(idle_poll_seconds=0.05)
    runtimes = {n: bootstrap_service(n, service_settings(n, {"data_dir": data_dir}), bus) for n in SERVICES}
    for runtime in runtimes.values():
        for consumer in runtime.consumers:
            bus.subscribe(consumer)
        await runtime.init_db()
    system = System(data_dir, runtimes, bus)
    system.task = asyncio.create_task(bus.run())
    return system


async def stop(system: System) -> None:
    assert system.task is not None
    system.task.cancel()
    await asyncio.gather(system.task, return_exceptions=True)
    for runtime in system.runtimes.values():
        await runtime.close()


@pytest.fixture
async def system(tmp_path: Path) -> AsyncIterator[System]:
    running = await start(tmp_path)
    yield running
    await stop(running)


async def ask(system: System, text: str, agency: str, case_type: str) -> tuple[str, str]:
    async with system.client("intake", "desk") as desk:
        visit = (await desk.post("/v1/visits", json={"office_id": "kiruna", "channel": "desk"})).json()
        body = {"text": text, "agency": agency, "case_type": case_type, "personal_identity_number": "19811218-9876"}
        question = await desk.post(f"/v1/visits/{visit['visit_id']}/questions", json=body)
        assert question.status_code == 201, question.text
    return visit["visit_id"], question.json()["question_id"]


async def status(client: httpx.AsyncClient, path: str) -> int:
    return (await client.get(path)).status_code


async def act(system: System) -> dict[str, str]:
    """One of each audited action; answers the subject of each."""
    _, general = await ask(system, "Hur ansöker jag om bostadsbidrag?", "forsakringskassan", "bostadsbidrag")
    visit_id, complex_ = await ask(system, "Jag behöver ett nytt pass", "polisen", "pass")
    async with system.client("routing", "supervisor", ACTORS["override"]) as routing:
        await eventually(lambda: status(routing, f"/v1/questions/{general}/decision"), lambda s: s == 200)
        body = {"level": "in_depth", "reason": "needs a longer talk", "handler": "Sara S"}
        overridden = await routing.post(f"/v1/questions/{general}/override", json=body)
        assert overridden.status_code == 200, overridden.text
    gateway = system.runtimes["agency_gateway"]
    async with system.client("agency_gateway", "admin", ACTORS["replay"]) as ops:
        await eventually(lambda: status(ops, f"/v1/deliveries/{complex_}"), lambda s: s == 200)
        policy = gateway.settings.retry_policy("polisen")
        await record_outcome(complex_, Rejected("HTTP 401: bad signature"), gateway.uow_factory(), policy, lambda: 0)
        replayed = await ops.post(f"/v1/dead-letters/{complex_}/replay", json={"reason": "key rotated"})
        assert replayed.status_code == 200, replayed.text
    async with system.client("intake", "admin", ACTORS["erasure"]) as admin:
        assert (await admin.delete(f"/v1/visits/{visit_id}/personal-data")).status_code == 200
    async with system.client("reporting", "bi", ACTORS["export"]) as bi:
        exported = await bi.get("/v1/export/reporting_questions", params={"agency": "polisen"})
        assert exported.status_code == 200
    return {"override": general, "replay": complex_, "erasure": visit_id, "export": "reporting_questions"}


async def all_four(system: System) -> list[dict]:
    async def rows() -> list[dict]:
        return (await system.audit(limit=500)).json()["rows"]

    return await eventually(rows, lambda found: {r["action"] for r in found} == set(ACTORS))


async def test_each_action_reaches_the_audit_with_its_actor_newest_first(system):
    subjects = await act(system)
    rows = await all_four(system)
    assert {r["action"]: (r["actor"], r["subject"]) for r in rows} == {
        action: (ACTORS[action], subjects[action]) for action in ACTORS
    }
    assert [r["occurred_at"] for r in rows] == sorted((r["occurred_at"] for r in rows), reverse=True)
    export = next(r for r in rows if r["action"] == "export")
    assert export["details"] == {"filters": {"agency": "polisen"}, "format": "csv", "rows": 1}
    override = next(r for r in rows if r["action"] == "override")
    assert override["details"]["to"]["level"] == "in_depth"
    raw = b"".join(p.read_bytes() for p in system.data_dir.glob("reporting.db*"))
    for secret in (b"Sara S", b"needs a longer talk", b"key rotated", b"9876"):
        assert secret not in raw, secret

    only = (await system.audit(action="export")).json()
    assert [r["actor"] for r in only["rows"]] == [ACTORS["export"]] and only["total"] == 1
    by_actor = (await system.audit(role="admin", actor=ACTORS["erasure"])).json()["rows"]
    assert [r["action"] for r in by_actor] == ["erasure"]
    first, second = (await system.audit(limit=1)).json(), (await system.audit(limit=1, offset=1)).json()
    assert first["total"] == 4 and [first["rows"][0]["id"], second["rows"][0]["id"]] == [rows[0]["id"], rows[1]["id"]]
    newest = rows[0]["occurred_at"]
    assert (await system.audit(**{"from": newest})).json()["total"] >= 1
    assert (await system.audit(to=rows[-1]["occurred_at"])).json()["total"] == 0
    assert (await system.audit(**{"from": "2000-01-01", "to": "2000-01-02"})).json()["rows"] == []


async def test_only_supervisors_and_admins_read_the_audit_and_its_paging_is_bounded(system):
    assert (await system.audit(role="supervisor")).status_code == 200
    assert (await system.audit(role="admin")).status_code == 200
    for role in ("desk", "bi", "kiosk"):
        denied = await system.audit(role=role)
        assert denied.status_code == 403 and denied.json()["error"]["code"] == "forbidden"
    anonymous = await system.audit(role=None)  # type: ignore[arg-type]
    assert anonymous.status_code == 401 and anonymous.json()["error"]["code"] == "unauthenticated"
    for params in ({"limit": 0}, {"limit": 501}, {"offset": -1}, {"action": "delete"},
                   {"from": "yesterday"}, {"from": "2025-02-01", "to": "2025-01-01"}):
        refused = await system.audit(**params)
        assert refused.status_code == 422, params
        assert refused.json()["error"]["code"] in ("validation_error", "invalid_input")
    assert (await system.audit(limit=500, offset=0)).status_code == 200
    async with system.client("reporting", "admin") as admin:
        assert (await admin.get("/v1/export/audit_log")).status_code == 404  # never exported


def audit_rows(data_dir: Path) -> list[tuple]:
    with sqlite3.connect(data_dir / "reporting.db") as db:
        return sorted(db.execute("SELECT event_id, action, actor, subject, occurred_at FROM audit_log"))


async def test_the_audit_comes_back_after_a_replay_and_after_a_rebuild_of_an_old_store(tmp_path):
    system = await start(tmp_path)
    try:
        await act(system)
        await all_four(system)
    finally:
        await stop(system)
    before = audit_rows(tmp_path)
    assert len(before) == 4

    # `servicekontor replay reporting`: the producers' logs, and reporting's own exports.
    runtime = bootstrap_service("reporting", service_settings("reporting", {"data_dir": tmp_path}), None)
    await runtime.init_db()
    logs = [SqliteEventLog(tmp_path / f"{name}.db", topic) for name, topic in
            (("intake", topics.INTAKE), ("routing", topics.ROUTING), ("agency_gateway", topics.GATEWAY))]
    result = await replay(runtime.engine, logs, ZoneInfo("Europe/Stockholm"), None)
    await runtime.close()
    assert result.audit_entries == 4 and audit_rows(tmp_path) == before

    # A store from before the audit log: rebuilt at start-up; the export is back at once
    # (reporting's own event store), the rest as the consumer reads the logs again.
    with sqlite3.connect(tmp_path / "reporting.db") as db:
        db.execute("DROP TABLE audit_log")
    runtime = bootstrap_service("reporting", service_settings("reporting", {"data_dir": tmp_path}), None)
    await runtime.init_db()
    await runtime.close()
    assert [r[1:] for r in audit_rows(tmp_path)] == [r[1:] for r in before if r[1] == "export"]
    with sqlite3.connect(tmp_path / "reporting.db") as db:
        assert db.execute("SELECT COUNT(*) FROM subscriber_positions").fetchone() == (0,)
        assert db.execute("SELECT COUNT(*) FROM reporting_questions").fetchone() == (0,)
    system = await start(tmp_path)
    try:
        await all_four(system)
        assert audit_rows(tmp_path) == before
    finally:
        await stop(system)
