"""The four services on real Apache Kafka and PostgreSQL, in one test process: outbox
relays publish to Kafka, consumer groups apply events to each service's own schema."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import uuid
from collections import Counter

import httpx
import pytest
import uvicorn
from sqlalchemy import text

from servicekontor.runner import QuietServer, bootstrap_service, service_settings
from shared.kafka_bus import KafkaBus
from tests.helpers import api_client, eventually

pytestmark = pytest.mark.realservers

SERVICES = ("intake", "routing", "agency_gateway", "reporting")


@contextlib.asynccontextmanager
async def distributed_system(real_servers, tmp_path):
    """All four services wired on one KafkaBus (unique topic prefix) and a fresh database."""
    from services.agency_simulator.app import build_simulator

    database_url = await real_servers.fresh_database()
    prefix = f"t{uuid.uuid4().hex[:8]}."
    sim_socket = socket.socket()
    sim_socket.bind(("127.0.0.1", 0))  # bound here and served as is: no other process takes the port
    sim_port = sim_socket.getsockname()[1]
    overrides = dict(
        database_url=database_url, data_dir=tmp_path, kafka_bootstrap_servers=real_servers.kafka_bootstrap_servers,
        kafka_topic_prefix=prefix, agency_simulator_url=f"http://127.0.0.1:{sim_port}",
    )
    bus = KafkaBus(real_servers.kafka_bootstrap_servers, partitions=3, prefix=prefix)
    runtimes = {name: bootstrap_service(name, service_settings(name, overrides), bus) for name in SERVICES}
    for runtime in runtimes.values():
        await runtime.init_db()
        for consumer in runtime.consumers:
            bus.subscribe(consumer)
    simulator = QuietServer(uvicorn.Config(build_simulator(tmp_path, sim_port), port=sim_port, log_config=None))
    tasks = [asyncio.create_task(simulator.serve(sockets=[sim_socket]))]
    await bus.start()
    tasks += [asyncio.create_task(bus.run())] + [asyncio.create_task(w()) for r in runtimes.values() for w in r.workers]
    clients = {
        name: api_client(r)
        for name, r in runtimes.items()
    }
    clients["simulator"] = httpx.AsyncClient(base_url=f"http://127.0.0.1:{sim_port}")
    try:
        yield clients, runtimes, bus
    finally:
        simulator.should_exit = True
        for task in tasks[1:]:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for client in clients.values():
            await client.aclose()
        for runtime in runtimes.values():
            await runtime.close()
        sim_socket.close()


async def test_visits_flow_through_kafka_and_postgres_exactly_once(real_servers, tmp_path):
    async with distributed_system(real_servers, tmp_path) as (c, runtimes, bus):
        question_ids = []
        for n in range(6):
            visit = (await c["intake"].post("/v1/visits", json={"office_id": "kiruna", "channel": "kiosk"})).json()
            text = "Jag vill ansöka om id-kort" if n % 2 == 0 else "Hur ansöker jag om bostadsbidrag?"
            q = await c["intake"].post(f"/v1/visits/{visit['visit_id']}/questions", json={"text": text})
            assert q.status_code == 201
            question_ids.append(q.json()["question_id"])
            await c["intake"].post(f"/v1/visits/{visit['visit_id']}/end", json={})

        async def summary():
            return (await c["reporting"].get("/v1/stats/summary")).json()

        def settled(s: dict) -> bool:
            # Reporting reads three topics independently: each may lag behind the others.
            classified = sum(s["questions_by_level"].values())
            return s["visits_ended"] == 6 and s["cases_delivered"] == 3 and classified == 6

        final = await eventually(summary, settled, timeout=60)
        assert final["questions"] == 6
        assert final["questions_by_level"]["complex"] == 3
        complex_ids = question_ids[::2]
        received = (await c["simulator"].get("/v1/received")).json()
        assert (received["unique_cases"], received["total_requests"], received["duplicates"]) == (3, 3, 0)
        for qid in complex_ids:
            delivery = (await c["agency_gateway"].get(f"/v1/deliveries/{qid}")).json()
            assert delivery["status"] == "delivered"
            seen = (await c["simulator"].get(f"/v1/received/{qid}")).json()
            assert seen["times_received"] == 1 and seen["reference"] == delivery["agency_reference"]
        # Once in every store too: each event once per stream, each row once.
        routing_log = await counts(runtimes["routing"], "routing.event_store")
        assert routing_log["routing.QuestionClassified"] == (6, 6)
        assert routing_log["routing.CaseRoutedToAgency"] == (3, 3)
        gateway_log = await counts(runtimes["agency_gateway"], "agency_gateway.event_store")
        assert gateway_log["gateway.CaseQueuedForDelivery"] == (3, 3)
        assert gateway_log["gateway.CaseForwarded"] == (3, 3)
        assert await rows(runtimes["agency_gateway"], "agency_gateway.gateway_deliveries", "question_id") == Counter(
            {qid: 1 for qid in complex_ids})
        assert await rows(runtimes["reporting"], "reporting.reporting_questions", "question_id") == Counter(
            {qid: 1 for qid in question_ids})
        assert len(await rows(runtimes["reporting"], "reporting.reporting_visits", "visit_id")) == 6
        assert all(consumer.dead_lettered == 0 for r in runtimes.values() for consumer in r.consumers)
        assert (await c["intake"].get("/ready")).json()["ready"]


async def counts(runtime, table: str) -> dict[str, tuple[int, int]]:
    """Per event type in a service's event store on PostgreSQL: events, distinct streams."""
    query = f"SELECT event_type, count(*), count(DISTINCT stream_id) FROM {table} GROUP BY event_type"
    async with runtime.engine.connect() as conn:
        return {t: (n, d) for t, n, d in (await conn.execute(text(query))).all()}


async def rows(runtime, table: str, key: str) -> Counter:
    """How many rows a table holds per key (a projection writes each key once)."""
    async with runtime.engine.connect() as conn:
        return Counter(k for (k,) in (await conn.execute(text(f"SELECT {key} FROM {table}"))).all())
