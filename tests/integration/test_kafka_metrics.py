"""The Kafka numbers of ``GET /metrics`` on the real broker, not on stand-ins: the outbox
backlog of a relay falls to zero once its events are in the topic, and the consumer lag
is what the consumer group's committed offsets on the broker say. The services run on the
suite's real PostgreSQL (a fresh database) and Kafka (a topic prefix of their own)."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from servicekontor.runner import bootstrap_service, service_settings
from shared import topics
from shared.kafka_bus import KafkaBus
from tests.helpers import api_client, eventually
from tests.integration.test_metrics_api import scrape, value, visit_with_question

pytestmark = pytest.mark.realservers

VISITS = 10  # two events each: VisitRegistered, QuestionRecorded
EVENTS = 2 * VISITS
BATCH = 4


async def group_lag(bootstrap: str, group: str, topic: str) -> dict[int, int]:
    """Per partition: the topic's end offset less the group's committed offset, as the
    broker knows them (what ``kafka-consumer-groups.sh --describe`` prints)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
    await admin.start()
    await consumer.start()
    try:
        committed = await admin.list_consumer_group_offsets(group)
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or [0])]
        ends = await consumer.end_offsets(partitions)
        return {tp.partition: ends[tp] - (committed[tp].offset if tp in committed else 0) for tp in partitions}
    finally:
        await consumer.stop()
        await admin.close()


async def end_offsets(bootstrap: str, topic: str) -> int:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
    await consumer.start()
    try:
        await consumer.topics()  # metadata of the new topic
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or [0])]
        return sum((await consumer.end_offsets(partitions)).values())
    finally:
        await consumer.stop()


async def test_relay_backlog_and_consumer_lag_come_from_the_real_broker(real_servers, tmp_path):
    database_url = await real_servers.fresh_database()
    prefix = f"t{uuid.uuid4().hex[:8]}."
    kafka = real_servers.kafka_bootstrap_servers
    overrides = dict(database_url=database_url, data_dir=tmp_path, kafka_bootstrap_servers=kafka,
                     kafka_topic_prefix=prefix)
    bus = KafkaBus(kafka, partitions=1, prefix=prefix, batch_size=BATCH)
    intake = bootstrap_service("intake", service_settings("intake", overrides), bus)
    routing = bootstrap_service("routing", service_settings("routing", overrides), bus)
    consumer = routing.consumers[0]
    bus.subscribe(consumer)
    gate, batches = asyncio.Event(), []
    handle_batch = consumer.handle_batch

    async def held_after_the_first_batch(items):
        batches.append(len(items))
        if len(batches) > 1:
            await gate.wait()
        await handle_batch(items)

    consumer.handle_batch = held_after_the_first_batch
    running: asyncio.Task | None = None
    for runtime in (intake, routing):
        await runtime.init_db()
    try:
        async with api_client(intake) as ic, api_client(routing) as rc:
            for _ in range(VISITS):
                await visit_with_question(ic)
            _, before = await scrape(ic)
            assert value(before, "servicekontor_outbox_backlog_events", topic=topics.INTAKE) == EVENTS

            # The relay publishes to the broker; the backlog is what is not there yet.
            await bus.start()
            relay = bus.relays[topics.INTAKE]
            while await relay.relay_once():
                pass
            _, after = await scrape(ic)
            assert value(after, "servicekontor_outbox_backlog_events", topic=topics.INTAKE) == 0
            assert await end_offsets(kafka, bus.physical(topics.INTAKE)) == EVENTS

            # The consumer takes one batch, commits it, and is held before the next.
            running = asyncio.create_task(bus.run())
            await eventually(lambda: asyncio.sleep(0, consumer.handled), lambda n: n == batches[0] if batches else False, 30)
            assert 0 < batches[0] <= BATCH
            behind = EVENTS - batches[0]
            on_broker = await eventually(
                lambda: group_lag(kafka, f"{prefix}routing", bus.physical(topics.INTAKE)),
                lambda lag: lag == {0: behind}, 30,
            )
            _, held = await scrape(rc)
            gauge = value(held, "servicekontor_consumer_lag_events", consumer="routing", topic=topics.INTAKE, partition="0")
            assert gauge == behind == on_broker[0] == bus.lag[("routing", topics.INTAKE, 0)] > 0

            gate.set()
            await eventually(lambda: group_lag(kafka, f"{prefix}routing", bus.physical(topics.INTAKE)),
                             lambda lag: lag == {0: 0}, 60)
            _, done = await eventually(
                lambda: scrape(rc),
                lambda got: value(got[1], "servicekontor_consumer_lag_events", consumer="routing",
                                  topic=topics.INTAKE, partition="0") == 0, 30,
            )
            assert value(done, "servicekontor_consumer_events_handled_total", consumer="routing") == EVENTS
            assert sum(batches) == EVENTS and len(batches) >= EVENTS // BATCH
    finally:
        gate.set()
        if running is not None:
            running.cancel()
            await asyncio.gather(running, return_exceptions=True)
        await bus.stop()
        for runtime in (intake, routing):
            await runtime.close()
