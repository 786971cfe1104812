"""The four services on real Apache Kafka and PostgreSQL, in one test process: outbox
relays publish to Kafka, consumer groups apply events to each service's own schema."""

from __future__ import annotations

import asyncio
import contextlib
import uuid

import httpx
import pytest
import uvicorn

from servicekontor.runner import QuietServer, bootstrap_service, service_settings
from shared.kafka_bus import KafkaBus
from tests.helpers import api_client, eventually, free_port

pytestmark = pytest.mark.realservers

SERVICES = ("intake", "routing", "agency_gateway", "reporting")


@contextlib.asynccontextmanager
async def distributed_system(real_servers, tmp_path):
    """All four services wired on one KafkaBus (unique topic prefix) and a fresh database."""
    from services.agency_simulator.app import build_simulator

    database_url = await real_servers.fresh_database()
    prefix = f"t{uuid.uuid4().hex[:8]}."
    sim_port = free_port()
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
    tasks = [asyncio.create_task(simulator.serve())]
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
        received = (await c["simulator"].get("/v1/received")).json()
        assert received["unique_cases"] == 3
        for qid in question_ids[::2]:
            delivery = (await c["agency_gateway"].get(f"/v1/deliveries/{qid}")).json()
            assert delivery["status"] == "delivered"
        assert all(consumer.dead_lettered == 0 for r in runtimes.values() for consumer in r.consumers)
        assert (await c["intake"].get("/ready")).json()["ready"]
