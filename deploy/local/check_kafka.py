#!/usr/bin/env python3
"""End-to-end check of the local Kafka broker with aiokafka.

    python deploy/local/check_kafka.py [BOOTSTRAP]

BOOTSTRAP defaults to $SK_KAFKA_BOOTSTRAP_SERVERS, else 127.0.0.1:9092.

Steps (exit code 0 only if all pass):
  1. create a topic with 3 partitions via AIOKafkaAdminClient
  2. produce messages to every partition with enable_idempotence=True, acks="all"
  3. consume them in a consumer group and commit the offsets
  4. read the committed offsets back (consumer and admin API) and compare
  5. delete the topic again (aiokafka's admin client has no
     delete_consumer_groups; the empty group expires on the broker by itself)

A few aiokafka warnings like "GroupCoordinatorNotAvailableError" are normal
the first time a fresh broker sees a consumer group: the broker is still
creating its __consumer_offsets topic and aiokafka retries.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import time
import uuid

import aiokafka
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

PARTITIONS = 3
PER_PARTITION = 10
TIMEOUT_S = 60


def step(msg: str) -> None:
    print(f"[check_kafka] {msg}", flush=True)


async def wait_for_partitions(producer: AIOKafkaProducer, topic: str) -> None:
    """The producer must see all partitions (with leaders) before sending."""
    deadline = time.monotonic() + TIMEOUT_S
    while True:
        parts = await producer.partitions_for(topic)
        if parts and len(parts) == PARTITIONS:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"topic {topic} has partitions {parts}")
        await asyncio.sleep(0.2)


async def run(bootstrap: str) -> None:
    topic = f"sk-check-{uuid.uuid4().hex[:8]}"
    group = f"{topic}-group"
    step(f"aiokafka {aiokafka.__version__}, bootstrap {bootstrap}, topic {topic}")

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10000)
    await admin.start()
    try:
        # 1. topic with 3 partitions
        t0 = time.monotonic()
        await admin.create_topics(
            [NewTopic(name=topic, num_partitions=PARTITIONS, replication_factor=1)]
        )
        step(f"created topic with {PARTITIONS} partitions ({time.monotonic() - t0:.2f}s)")

        # 2. idempotent producer, acks=all
        producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap, enable_idempotence=True, acks="all"
        )
        await producer.start()
        sent: dict[int, list[bytes]] = {p: [] for p in range(PARTITIONS)}
        try:
            await wait_for_partitions(producer, topic)
            t0 = time.monotonic()
            for p in range(PARTITIONS):
                for i in range(PER_PARTITION):
                    value = f"p{p}-m{i}".encode()
                    md = await producer.send_and_wait(
                        topic, value=value, key=f"k{i}".encode(), partition=p
                    )
                    assert md.partition == p and md.offset == i, md
                    sent[p].append(value)
            total = PARTITIONS * PER_PARTITION
            step(f"produced {total} messages, idempotent, acks=all ({time.monotonic() - t0:.2f}s)")
        finally:
            await producer.stop()

        # 3. consumer group: read everything, commit
        consumer = AIOKafkaConsumer(
            topic,
            bootstrap_servers=bootstrap,
            group_id=group,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        t0 = time.monotonic()
        await consumer.start()
        received: dict[int, list[bytes]] = {p: [] for p in range(PARTITIONS)}
        try:
            deadline = time.monotonic() + TIMEOUT_S
            while sum(map(len, received.values())) < total:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"only received {received}")
                batches = await consumer.getmany(timeout_ms=1000)
                for tp, msgs in batches.items():
                    received[tp.partition].extend(m.value for m in msgs)
            assert received == sent, (received, sent)
            step(
                f"consumed {total} messages in group {group} "
                f"(assignment {sorted(tp.partition for tp in consumer.assignment())}, "
                f"{time.monotonic() - t0:.2f}s incl. group join)"
            )
            await consumer.commit()

            # 4. committed offsets, seen by the consumer ...
            for p in range(PARTITIONS):
                committed = await consumer.committed(TopicPartition(topic, p))
                assert committed == PER_PARTITION, (p, committed)
        finally:
            await consumer.stop()

        # ... and by the admin API after the consumer left
        offsets = await admin.list_consumer_group_offsets(group)
        by_partition = {tp.partition: meta.offset for tp, meta in offsets.items()}
        assert by_partition == {p: PER_PARTITION for p in range(PARTITIONS)}, by_partition
        step(f"committed offsets {by_partition}")

        # 5. clean up
        await admin.delete_topics([topic])
        step("deleted topic")
    finally:
        await admin.close()


def main() -> int:
    logging.basicConfig(level=logging.WARNING, format="[%(name)s] %(levelname)s %(message)s")
    bootstrap = (
        sys.argv[1]
        if len(sys.argv) > 1
        else os.environ.get("SK_KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    )
    try:
        asyncio.run(asyncio.wait_for(run(bootstrap), timeout=3 * TIMEOUT_S))
    except Exception as exc:  # noqa: BLE001 - any failure means exit code 1
        step(f"FAILED: {exc!r}")
        return 1
    step("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
