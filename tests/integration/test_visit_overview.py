"""The desk's overview of a visit on the embedded stack: intake, routing and the gateway
bootstrapped on one embedded bus with their SQLite stores, the agency simulator over real
HTTP (its status callbacks go to the gateway's app), the gateway's delivery worker on.

- a complex question: the overview shows routing's decision, then the delivery
  delivered, then the agency's last status;
- a general question resolved ``forwarded``: the agency receives it, once.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from servicekontor.runner import bootstrap_service, service_settings
from services.agency_simulator.app import build_simulator
from services.intake.adapters.overview_tables import SqlVisitOverview
from shared import topics
from shared.auth import auth_dir
from shared.bus import EmbeddedBus
from shared.runtime import ServiceRuntime
from shared.tracking import Checkpoint
from tests.factories import (
    case_forwarded,
    case_forwarding_failed,
    case_queued_for_delivery,
    envelopes,
    ids,
    question_recorded,
    question_resolved,
)
from tests.helpers import api_client, eventually, random_id
from tests.integration.gateway_support import serve

PIN = "19811218-9876"
SERVICES = ("intake", "routing", "agency_gateway")


@dataclass
class Stack:
    runtimes: dict[str, ServiceRuntime]
    simulator: httpx.AsyncClient

    def client(self, service: str, role: str = "desk") -> httpx.AsyncClient:
        return api_client(self.runtimes[service], role)


@pytest.fixture
async def stack(tmp_path: Path) -> AsyncIterator[Stack]:
    simulator_app = build_simulator(
        tmp_path / "simulator", callback_url="http://gateway", callback_delay=0.01, keys_dir=auth_dir(tmp_path)
    )
    async with serve(simulator_app) as simulator_url, httpx.AsyncClient(base_url=simulator_url) as simulator:
        overrides = {
            "data_dir": tmp_path,
            "agency_simulator_url": simulator_url,
            "agency_retry_initial_seconds": 0.01,
            "agency_retry_max_seconds": 0.05,
        }
        bus = EmbeddedBus(idle_poll_seconds=0.05)
        # Every producer is registered (bootstrap) before any consumer subscribes, as in
        # servicekontor.runner: intake now consumes routing's and the gateway's topics.
        runtimes = {n: bootstrap_service(n, service_settings(n, overrides), bus) for n in SERVICES}
        for runtime in runtimes.values():
            for consumer in runtime.consumers:
                bus.subscribe(consumer)
            await runtime.init_db()
        # The simulated agencies' status callbacks reach the gateway's app in process.
        callbacks = simulator_app.state.sim.callbacks
        await callbacks.http.aclose()
        callbacks.http = httpx.AsyncClient(transport=httpx.ASGITransport(app=runtimes["agency_gateway"].app))
        jobs = [bus.run, *(w for r in runtimes.values() for w in r.workers)]
        tasks = [asyncio.create_task(job()) for job in jobs]
        try:
            yield Stack(runtimes, simulator)
        finally:
            await callbacks.close()  # no status callback is in flight while we stop
            await stop(tasks, runtimes)


async def stop(tasks: list[asyncio.Task], runtimes: dict[str, ServiceRuntime]) -> None:
    """Bounded: a teardown that cannot finish fails the test instead of hanging it."""
    async with asyncio.timeout(30):
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for runtime in runtimes.values():
            await runtime.close()


async def ask(desk: httpx.AsyncClient, text: str, office_id: str = "pitea") -> tuple[str, str]:
    visit = await desk.post("/v1/visits", json={"office_id": office_id, "channel": "desk"})
    assert visit.status_code == 201, visit.text
    visit_id = visit.json()["visit_id"]
    question = await desk.post(
        f"/v1/visits/{visit_id}/questions", json={"text": text, "personal_identity_number": PIN}
    )
    assert question.status_code == 201, question.text
    return visit_id, question.json()["question_id"]


async def overview_until(desk: httpx.AsyncClient, visit_id: str, done, timeout: float = 20.0) -> dict:
    async def probe() -> dict:
        response = await desk.get(f"/v1/visits/{visit_id}/overview")
        assert response.status_code == 200, response.text
        return response.json()

    return await eventually(probe, done, timeout=timeout)


def only_question(overview: dict) -> dict:
    [question] = overview["questions"]
    return question


async def test_a_complex_question_shows_its_decision_its_delivery_and_the_agencys_status(stack):
    async with stack.client("intake") as desk:
        visit_id, question_id = await ask(desk, "Jag vill ansöka om id-kort")
        first = await desk.get(f"/v1/visits/{visit_id}/overview")
        assert first.status_code == 200
        assert only_question(first.json())["question_id"] == question_id

        decided = await overview_until(desk, visit_id, lambda o: only_question(o)["decision"] is not None)
        decision = only_question(decided)["decision"]
        assert (decision["level"], decision["agency"], decision["case_type"]) == ("complex", "skatteverket", "id_kort")
        assert decision["destination"] == "agency_system"
        assert "Piteå does not take ID-card applications" in decision["destination_reason"]
        assert "Nearest offices that take it: Luleå" in decision["destination_reason"]

        closed = await overview_until(
            desk, visit_id,
            lambda o: ((only_question(o)["delivery"] or {}).get("agency_status") or {}).get("status") == "closed",
        )
        visit = (await desk.get(f"/v1/visits/{visit_id}")).json()
    delivery = only_question(closed)["delivery"]
    assert (delivery["status"], delivery["attempts"], delivery["agency"]) == ("delivered", 1, "skatteverket")
    assert delivery["agency_reference"]
    assert delivery["agency_status"]["updated_at"]
    # The visit's own fields are those GET /v1/visits/{id} gives (and no bookings).
    assert closed["bookings"] == []
    assert {k: v for k, v in closed.items() if k not in ("questions", "bookings")} == {k: v for k, v in visit.items() if k != "questions"}
    question = only_question(closed)
    assert (question["text"], question["outcome"]) == ("Jag vill ansöka om id-kort", None)
    # The gateway's own view agrees.
    async with stack.client("agency_gateway", "admin") as ops:
        gateway_view = (await ops.get(f"/v1/deliveries/{question_id}")).json()
    assert (gateway_view["agency_reference"], gateway_view["agency_status"]) == (delivery["agency_reference"], "closed")
    # No identity number in the answer or in intake's overview tables.
    digits = PIN.replace("-", "")
    assert PIN not in json.dumps(closed) and digits not in json.dumps(closed)
    async with stack.runtimes["intake"].engine.connect() as conn:
        for table in ("intake_overview_decisions", "intake_overview_deliveries"):
            rows = (await conn.execute(text(f"SELECT * FROM {table}"))).all()
            assert rows and not any(digits in str(row) or PIN in str(row) for row in rows)


async def test_a_general_question_resolved_forwarded_reaches_the_agency_once(stack):
    async with stack.client("intake") as desk:
        visit_id, question_id = await ask(desk, "Hur ansöker jag om bostadsbidrag?", office_id="ostersund")
        decided = await overview_until(desk, visit_id, lambda o: only_question(o)["decision"] is not None)
        assert only_question(decided)["decision"]["level"] in ("general", "in_depth")
        assert only_question(decided)["delivery"] is None
        resolved = await desk.post(f"/v1/questions/{question_id}/resolution", json={"outcome": "forwarded"})
        assert resolved.status_code == 200, resolved.text
        again = await desk.post(f"/v1/questions/{question_id}/resolution", json={"outcome": "forwarded"})
        assert again.status_code == 409
        delivered = await overview_until(
            desk, visit_id, lambda o: (only_question(o)["delivery"] or {}).get("status") == "delivered"
        )
    question = only_question(delivered)
    assert question["outcome"] == "forwarded"
    assert question["delivery"]["agency"] == question["decision"]["agency"] == "forsakringskassan"
    received = (await stack.simulator.get(f"/v1/received/{question_id}")).json()
    assert (received["agency"], received["times_received"]) == ("forsakringskassan", 1)
    totals = (await stack.simulator.get("/v1/received")).json()
    assert (totals["unique_cases"], totals["duplicates"]) == (1, 0)


async def test_an_unknown_visit_is_404_json_and_the_kiosk_may_not_read_it(stack):
    async with stack.client("intake") as desk, stack.client("intake", "kiosk") as kiosk:
        missing = await desk.get("/v1/visits/no-such-visit/overview")
        assert missing.status_code == 404 and missing.json()["error"]["code"]
        visit_id, _ = await ask(desk, "Hur ansöker jag om bostadsbidrag?")
        assert (await kiosk.get(f"/v1/visits/{visit_id}/overview")).status_code == 403


async def one_by_one(*_args) -> None:
    raise AssertionError("the batch fell back to one event at a time")


async def test_on_sqlite_a_question_and_its_forwarding_in_one_batch_route_once(tmp_path):
    """Routing's fast path handles consecutive events in one transaction: the resolution
    sees the classification staged just before it."""
    routing = bootstrap_service("routing", service_settings("routing", {"data_dir": tmp_path}), None)
    await routing.init_db()
    try:
        question = question_recorded(text="Hur ansöker jag om bostadsbidrag?")
        question_id = question.question_id
        resolution = question_resolved(**ids(question), outcome="forwarded")
        batch = envelopes([question, resolution], first_version=2)
        consumer = routing.consumers[0]
        consumer.handle = one_by_one  # the batch must succeed as one transaction
        for _ in range(2):  # and once more: a replay
            await consumer.handle_batch([(e, Checkpoint(topics.INTAKE, 0, p)) for p, e in enumerate(batch, 1)])
        async with routing.uow_factory() as uow:
            stream = await uow.events.load(question_id)
        assert [e.event_type for e in stream] == ["routing.QuestionClassified", "routing.CaseRoutedToAgency"]
        assert stream[1].payload["destination"] == "agency_system" and consumer.dead_lettered == 0
    finally:
        await routing.close()


async def test_on_sqlite_the_overview_folds_a_batch_touching_one_question_twice_and_survives_a_replay(tmp_path):
    intake = bootstrap_service("intake", service_settings("intake", {"data_dir": tmp_path}), None)
    await intake.init_db()
    try:
        visit_id, question_id = random_id(), random_id()
        case = {"visit_id": visit_id, "question_id": question_id, "agency": "polisen"}
        story = [
            case_queued_for_delivery(**case),
            case_forwarding_failed(**case, attempt=1),
            case_forwarded(**case, agency_reference="POL-1", attempt=2),
        ]
        batch = [(e, Checkpoint(topics.GATEWAY, 0, e.stream_version)) for e in envelopes(story)]
        consumer = intake.consumers[0]
        consumer.handle = one_by_one  # the batch must succeed as one transaction
        await consumer.handle_batch(batch)
        fresh = [(e.model_copy(update={"event_id": random_id()}), c) for e, c in batch]
        await consumer.handle_batch(fresh)  # new ids: only the stream versions protect
        async with intake.uow_factory() as uow:
            decisions, deliveries = await SqlVisitOverview.of(uow).of_visit(visit_id)
        assert decisions == {}
        view = deliveries[question_id]
        assert (view.status, view.attempts, view.agency_reference, view.version) == ("delivered", 2, "POL-1", 3)
        assert consumer.dead_lettered == 0
    finally:
        await intake.close()


@pytest.mark.realservers
async def test_on_kafka_and_postgresql_intakes_consumer_group_builds_the_overview(real_servers, tmp_path):
    """Distributed mode: intake was only a producer; now its consumer group ``intake``
    reads routing's and the gateway's topics into its own PostgreSQL schema."""
    from shared.kafka_bus import KafkaBus

    simulator_app = build_simulator(tmp_path / "simulator", keys_dir=auth_dir(tmp_path))
    async with serve(simulator_app) as simulator_url, httpx.AsyncClient(base_url=simulator_url) as simulator:
        prefix = f"t{random_id()[:8]}."
        overrides = {
            "database_url": await real_servers.fresh_database(), "data_dir": tmp_path,
            "kafka_bootstrap_servers": real_servers.kafka_bootstrap_servers, "kafka_topic_prefix": prefix,
            "agency_simulator_url": simulator_url,
        }
        bus = KafkaBus(real_servers.kafka_bootstrap_servers, partitions=3, prefix=prefix)
        runtimes = {n: bootstrap_service(n, service_settings(n, overrides), bus) for n in SERVICES}
        for runtime in runtimes.values():
            await runtime.init_db()
            for consumer in runtime.consumers:
                bus.subscribe(consumer)
        await bus.start()
        jobs = [bus.run, *(w for r in runtimes.values() for w in r.workers)]
        tasks = [asyncio.create_task(job()) for job in jobs]
        try:
            async with api_client(runtimes["intake"], "desk") as desk:
                complex_visit, _ = await ask(desk, "Jag vill ansöka om id-kort")
                general_visit, general = await ask(desk, "Hur ansöker jag om bostadsbidrag?", office_id="ostersund")
                await overview_until(desk, general_visit, lambda o: only_question(o)["decision"] is not None, 60)
                resolved = await desk.post(f"/v1/questions/{general}/resolution", json={"outcome": "forwarded"})
                assert resolved.status_code == 200, resolved.text
                for visit_id in (complex_visit, general_visit):
                    await overview_until(
                        desk, visit_id, lambda o: (only_question(o)["delivery"] or {}).get("status") == "delivered", 60
                    )
            assert (await simulator.get(f"/v1/received/{general}")).json()["times_received"] == 1
            totals = (await simulator.get("/v1/received")).json()
            assert (totals["unique_cases"], totals["duplicates"]) == (2, 0)
            [overview] = runtimes["intake"].consumers
            assert overview.name == "intake" and overview.dead_lettered == 0
            assert {key[0] for key in bus.lag} >= {"intake", "routing", "agency_gateway"}
        finally:
            await stop(tasks, runtimes)
