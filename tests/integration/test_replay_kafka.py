"""``replay reporting`` in a distributed deployment reads the topics, never another
service's database: on the suite's real Kafka and PostgreSQL, the producers' events go to
their topics (three partitions each, keyed by visit as the outbox relay does); a replay
from those topics into an empty database must equal the live projection row for row, and
leave the live consumer's positions at the end offsets it read, per partition."""

from __future__ import annotations

import json
import random
import uuid

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from servicekontor.commands.reporting import producer_logs
from services.reporting.adapters.kafka_log import KafkaEventLog
from services.reporting.handlers.replay import replay
from shared import topics
from shared.settings import CommonSettings
from tests.helpers import api_client
from tests.integration.test_replay_postgres import live_and_rebuilt, plain, snapshot
from tests.integration.test_reporting_replay import TZ, drive, pump

pytestmark = pytest.mark.realservers

PRODUCERS = (("intake", topics.INTAKE), ("routing", topics.ROUTING), ("agency_gateway", topics.GATEWAY))
PARTITIONS = 3


async def publish_logs(dsn: str, bootstrap: str, prefix: str) -> dict[tuple[str, int], int]:
    """Every event of the three producers' stores onto ``prefix + topic``; answers how
    many landed in each (topic, partition)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(prefix + t, PARTITIONS, 1) for _, t in PRODUCERS])
    finally:
        await admin.close()
    db, producer = await asyncpg.connect(dsn), AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    landed: dict[tuple[str, int], int] = {}
    try:
        for schema, topic in PRODUCERS:
            for row in await db.fetch(f"SELECT * FROM {schema}.event_store ORDER BY position"):
                envelope = {k: (str(v) if k in ("event_id", "correlation_id", "causation_id") and v else v)
                            for k, v in row.items() if k != "position"}
                envelope["occurred_at"] = row["occurred_at"].isoformat()
                payload = json.loads(row["payload"]) if isinstance(row["payload"], str) else row["payload"]
                envelope["payload"] = payload
                sent = await producer.send_and_wait(
                    prefix + topic, json.dumps(envelope).encode(),
                    key=str(payload.get("visit_id") or row["stream_id"]).encode(),
                )
                landed[(topic, sent.partition)] = landed.get((topic, sent.partition), 0) + 1
    finally:
        await producer.stop()
        await db.close()
    return landed


async def positions(dsn: str) -> dict[tuple[str, int], int]:
    db = await asyncpg.connect(dsn)
    try:
        rows = await db.fetch("SELECT topic, partition, position FROM reporting.subscriber_positions"
                              " WHERE subscriber = 'reporting'")
        return {(r["topic"], r["partition"]): r["position"] for r in rows if r["position"]}
    finally:
        await db.close()


async def test_a_replay_from_the_topics_equals_the_live_projection_and_resumes_the_consumer_at_their_ends(
    real_servers, tmp_path
):
    prefix = f"replay-{uuid.uuid4().hex[:8]}."
    async with live_and_rebuilt(real_servers, tmp_path) as s:
        intake, routing, live, rebuilt, live_url, replay_url = (
            s.intake, s.routing, s.live, s.rebuilt, s.live_url, s.replay_url)
        async with api_client(intake) as client:
            await drive(client, random.Random(11), 12)
        await pump(routing.consumers[0], {topics.INTAKE: intake})
        await pump(live.consumers[0], {topics.INTAKE: intake, topics.ROUTING: routing})
        await live.deps.refresh()
        projected = await snapshot(plain(live_url))

        landed = await publish_logs(plain(live_url), real_servers.kafka_bootstrap_servers, prefix)
        # What `replay reporting` reads on a distributed deployment: the topics.
        logs = producer_logs(CommonSettings(kafka_bootstrap_servers=real_servers.kafka_bootstrap_servers,
                                            kafka_topic_prefix=prefix, database_url=live_url))
        assert all(isinstance(log, KafkaEventLog) for log in logs)
        assert sum([await log.count() for log in logs]) == sum(landed.values())
        result = await replay(rebuilt.engine, logs, TZ, rebuilt.deps.costs)
        replayed = await snapshot(plain(replay_url))
        resumed = await positions(plain(replay_url))

    assert len({p for (t, p) in landed if t == topics.INTAKE}) > 1, "the events spread over partitions"
    assert (result.visits, result.events_invalid, result.events_read) == (12, 0, sum(landed.values()))
    assert replayed == projected, "the replay from Kafka rebuilds what the live consumer built"
    assert resumed == landed, "the live consumer resumes after the last offset of each partition"
