"""Topics a bus has just created are led before it returns (the CI failure of stop 21:
a consumer of a topic another ``serve`` process had just created logged aiokafka's
``Failed fetch offsets … NotLeaderForPartitionError`` at error level).

On the real broker: fresh topics, ensured by one bus and at once consumed by a group, as
``up --distributed`` does across processes. Without the wait for leaders this logged the
error in most rounds here; with it, none."""

from __future__ import annotations

import logging
import uuid

import pytest
from aiokafka import AIOKafkaConsumer

from shared.kafka_bus import KafkaBus

pytestmark = pytest.mark.realservers

TOPICS = [f"ready.t{n}" for n in range(12)]


async def test_a_group_consuming_freshly_ensured_topics_logs_no_leader_errors(real_servers, caplog):
    kafka = real_servers.kafka_bootstrap_servers
    caplog.set_level(logging.WARNING, logger="aiokafka")
    for _ in range(3):
        prefix = f"r{uuid.uuid4().hex[:8]}."
        await KafkaBus(kafka, topics=TOPICS, prefix=prefix).ensure_topics()
        # a second bus (another process) finds them existing: it must wait as well
        await KafkaBus(kafka, topics=TOPICS, prefix=prefix).ensure_topics()
        physical = [prefix + name for name in TOPICS]
        consumer = AIOKafkaConsumer(*physical, bootstrap_servers=kafka, group_id=f"{prefix}g",
                                    auto_offset_reset="earliest")
        await consumer.start()
        try:
            await consumer.getmany(timeout_ms=1000)
            assigned = consumer.assignment()
        finally:
            await consumer.stop()
        assert {tp.topic for tp in assigned} == set(physical)
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, errors[:3]
