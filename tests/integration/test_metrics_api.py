"""``GET /metrics`` on bootstrapped services with their real SQLite stores: request
counters by route template, consumer counters, embedded lag from the producer's log, the
outbox backlog of a Kafka relay, and never an id or personal data in a label."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from services.intake.bootstrap import bootstrap as bootstrap_intake
from services.intake.config import IntakeSettings
from services.routing.bootstrap import bootstrap as bootstrap_routing
from services.routing.config import RoutingSettings
from shared import topics
from shared.bus import EmbeddedBus
from shared.events import EventEnvelope
from shared.kafka_bus import KafkaBus
from shared.metrics import bus_of
from shared.outbox import InMemoryPublisher
from shared.tracking import Checkpoint
from tests.helpers import api_client, eventually

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)
PIN = "19811218-9876"


def client_of(runtime) -> httpx.AsyncClient:
    return api_client(runtime)


async def scrape(client: httpx.AsyncClient) -> tuple[str, dict[tuple[str, tuple], float]]:
    response = await client.get("/metrics")
    assert response.status_code == 200
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }
    return response.text, samples


def value(samples, name: str, **labels: str) -> float | None:
    return samples.get((name, tuple(sorted(labels.items()))))


def label_values(samples) -> set[str]:
    return {v for _, labels in samples for _, v in labels}


@asynccontextmanager
async def running(*runtimes) -> AsyncIterator[None]:
    for runtime in runtimes:
        await runtime.init_db()
    try:
        yield
    finally:
        for runtime in runtimes:
            await runtime.close()


async def visit_with_question(client: httpx.AsyncClient, text: str = "Jag behöver ett nytt id-kort") -> tuple[str, str]:
    visit = await client.post("/v1/visits", json={"office_id": "kiruna", "channel": "kiosk"})
    assert visit.status_code == 201
    visit_id = visit.json()["visit_id"]
    question = await client.post(
        f"/v1/visits/{visit_id}/questions", json={"text": text, "personal_identity_number": PIN}
    )
    assert question.status_code == 201
    return visit_id, question.json()["question_id"]


async def test_intake_counts_its_requests_by_route_template_and_no_id_reaches_a_label(tmp_path):
    runtime = bootstrap_intake(IntakeSettings(data_dir=tmp_path))
    async with running(runtime), client_of(runtime) as client:
        ids = [id_ for _ in range(2) for id_ in await visit_with_question(client)]
        visit_id = ids[0]
        assert (await client.get(f"/v1/visits/{visit_id}")).status_code == 200
        assert (await client.get(f"/v1/visits/{uuid.uuid4()}")).status_code == 404
        assert (await client.post("/v1/visits", json={"office_id": "kiruna"})).status_code == 422
        end = await client.post(f"/v1/visits/{visit_id}/end", json={})
        assert end.status_code == 200
        text, samples = await scrape(client)
    requests = "servicekontor_http_requests_total"
    assert value(samples, requests, method="POST", route="/v1/visits", status="201") == 2
    assert value(samples, requests, method="POST", route="/v1/visits", status="422") == 1
    assert value(samples, requests, method="POST", route="/v1/visits/{visit_id}/questions", status="201") == 2
    assert value(samples, requests, method="GET", route="/v1/visits/{visit_id}", status="200") == 1
    assert value(samples, requests, method="GET", route="/v1/visits/{visit_id}", status="404") == 1
    assert value(samples, requests, method="POST", route="/v1/visits/{visit_id}/end", status="200") == 1
    latency = "servicekontor_http_request_duration_seconds_count"
    assert value(samples, latency, route="/v1/visits/{visit_id}/questions") == 2
    assert not any(UUID.search(v) for v in label_values(samples))
    assert not any(id_ in text for id_ in ids)
    assert PIN not in text and PIN.replace("-", "") not in text


async def test_the_embedded_lag_is_the_producers_log_head_less_what_the_consumer_handled(tmp_path):
    bus = EmbeddedBus(idle_poll_seconds=0.05)
    intake = bootstrap_intake(IntakeSettings(data_dir=tmp_path), bus)
    routing = bootstrap_routing(RoutingSettings(data_dir=tmp_path), bus)
    for consumer in routing.consumers:
        bus.subscribe(consumer)
    async with running(intake, routing), client_of(intake) as ic, client_of(routing) as rc:
        for _ in range(2):
            await visit_with_question(ic)  # 2 events each: visit registered, question recorded
        _, before = await scrape(rc)
        assert value(before, "servicekontor_consumer_lag_events", consumer="routing", topic=topics.INTAKE, partition="0") == 4
        assert value(before, "servicekontor_consumer_events_handled_total", consumer="routing") == 0
        delivering = asyncio.create_task(bus.run())
        try:
            _, after = await eventually(
                lambda: scrape(rc),
                lambda got: value(got[1], "servicekontor_consumer_lag_events", consumer="routing", topic=topics.INTAKE, partition="0") == 0,
                timeout=20,
            )
        finally:
            delivering.cancel()
            await asyncio.gather(delivering, return_exceptions=True)
        assert value(after, "servicekontor_consumer_events_handled_total", consumer="routing") == 4
        assert value(after, "servicekontor_consumer_events_dead_lettered_total", consumer="routing") == 0
        _, intake_samples = await scrape(ic)
        routing_head = len(await routing.read_log(0, 1000))
    # The embedded bus has no relay: no backlog. Intake consumes routing's topic (the visit
    # overview); its consumer is not subscribed here, so it lags by all of routing's log.
    assert not any(name.startswith("servicekontor_outbox") for name, _ in intake_samples)
    intake_lag = value(intake_samples, "servicekontor_consumer_lag_events", consumer="intake", topic=topics.ROUTING, partition="0")
    assert intake_lag == routing_head > 0


async def test_a_dead_lettered_event_is_counted_and_its_payload_stays_out_of_the_metrics(tmp_path):
    routing = bootstrap_routing(RoutingSettings(data_dir=tmp_path))
    consumer = routing.consumers[0]
    consumer.max_attempts = 1
    poison = EventEnvelope(
        event_type="intake.QuestionRecorded", stream_id=str(uuid.uuid4()), stream_version=1,
        correlation_id=uuid.uuid4(), producer="intake", payload={"personal_identity_number": PIN},
    )
    async with running(routing), client_of(routing) as client:
        await consumer.handle(poison, Checkpoint(topics.INTAKE, 0, 1))
        text, samples = await scrape(client)
    assert value(samples, "servicekontor_consumer_events_dead_lettered_total", consumer="routing") == 1
    assert value(samples, "servicekontor_consumer_events_handled_total", consumer="routing") == 0
    assert PIN not in text and str(poison.event_id) not in text and poison.stream_id not in text


async def test_the_outbox_backlog_counts_what_the_relays_publisher_has_not_taken(tmp_path):
    """The backlog's arithmetic with an in-memory publisher; on the real broker:
    tests/integration/test_kafka_metrics.py."""
    bus = KafkaBus("127.0.0.1:9", partitions=1)  # never started: only the relay is used
    intake = bootstrap_intake(IntakeSettings(data_dir=tmp_path), bus)
    async with running(intake), client_of(intake) as client:
        await visit_with_question(client)
        _, before = await scrape(client)
        assert value(before, "servicekontor_outbox_backlog_events", topic=topics.INTAKE) == 2
        relay = bus.relays[topics.INTAKE]
        relay.publisher = InMemoryPublisher()
        assert await relay.relay_once() == 2
        _, after = await scrape(client)
    assert value(after, "servicekontor_outbox_backlog_events", topic=topics.INTAKE) == 0
    assert len(relay.publisher.sent) == 2


@pytest.mark.parametrize("bus_class", [EmbeddedBus, lambda: KafkaBus("127.0.0.1:9")], ids=["embedded", "kafka"])
async def test_bootstrap_hands_the_runtime_its_bus_so_metrics_can_read_lag_and_backlog(tmp_path, bus_class):
    bus = bus_class()
    runtime = bootstrap_routing(RoutingSettings(data_dir=tmp_path), bus)
    try:
        assert bus_of(runtime) is bus
    finally:
        await runtime.close()
