"""Reading a producer's events for a replay from its Kafka topic, not from its database.

In a distributed deployment no service reads another's database: the topics keep every
event (they are created with ``retention.ms=-1``), so the replay reads each topic from
its first offset to the end offsets it found when it began. Events of one visit share a
partition (the key is the visit id) and keep their order; the fold is order-free across
partitions and topics. The ends it read to become the live consumer's positions, so the
consumer resumes exactly after the replay.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Collection
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from services.reporting.adapters.event_log import AuditedRow, RawRow

READ_TIMEOUT_SECONDS = 120.0  # no progress for this long: the broker is not answering


@dataclass
class KafkaEventLog:
    bootstrap_servers: str
    topic: str  # the logical topic (``servicekontor.intake.events``)
    prefix: str = ""  # the deployment's topic prefix (SK_KAFKA_TOPIC_PREFIX)
    read_to: dict[tuple[str, int], int] = field(default_factory=dict)

    @property
    def physical(self) -> str:
        return f"{self.prefix}{self.topic}"

    async def count(self) -> int:
        async with self._consumer() as (_kafka, first, ends):
            return sum(ends[tp] - first[tp] for tp in ends)

    def ends(self) -> dict[tuple[str, int], int]:
        """(topic, partition) → the offset after the last event read."""
        return dict(self.read_to)

    async def batches(self, size: int = 20_000) -> AsyncIterator[list[RawRow]]:
        async for records in self._records(size):
            yield [
                (record.offset, envelope["event_type"], envelope.get("schema_version", 1),
                 json.dumps(envelope["payload"]))
                for record, envelope in records
            ]

    async def audited(self, event_types: Collection[str]) -> AsyncIterator[list[AuditedRow]]:
        if not event_types:
            return
        async for records in self._records(5_000):
            rows = [
                (envelope["event_id"], envelope["event_type"], envelope.get("schema_version", 1),
                 json.dumps(envelope["payload"]))
                for _record, envelope in records if envelope["event_type"] in event_types
            ]
            if rows:
                yield rows

    async def _records(self, size: int) -> AsyncIterator[list[tuple]]:
        async with self._consumer() as (kafka, _first, ends):
            pending = {tp for tp, end in ends.items() if await kafka.position(tp) < end}
            deadline = time.monotonic() + READ_TIMEOUT_SECONDS
            while pending:
                fetched = await kafka.getmany(*pending, timeout_ms=500, max_records=size)
                batch = []
                for tp, records in fetched.items():
                    batch += [(r, json.loads(r.value)) for r in records if r.offset < ends[tp]]
                for tp in list(pending):
                    if await kafka.position(tp) >= ends[tp]:
                        pending.discard(tp)
                if batch:
                    deadline = time.monotonic() + READ_TIMEOUT_SECONDS
                    yield batch
                elif time.monotonic() > deadline:
                    raise TimeoutError(f"{self.physical}: no events for {READ_TIMEOUT_SECONDS:.0f} s "
                                       f"before the end offsets {ends}")
            self.read_to = {(self.topic, tp.partition): end for tp, end in ends.items()}

    def _consumer(self) -> _Reader:
        return _Reader(self.bootstrap_servers, self.physical)


class _Reader:
    """A group-less consumer assigned every partition of one topic, at the beginning, with
    the first and end offsets as they are now (read-committed: what producers committed)."""

    def __init__(self, bootstrap_servers: str, topic: str) -> None:
        self.kafka = AIOKafkaConsumer(
            bootstrap_servers=bootstrap_servers, group_id=None, enable_auto_commit=False,
            isolation_level="read_committed", auto_offset_reset="earliest",
        )
        self.topic, self.bootstrap_servers = topic, bootstrap_servers

    async def __aenter__(self):
        await self.kafka.start()
        tps = [TopicPartition(self.topic, p) for p in await self._partitions()]
        if not tps:
            return self.kafka, {}, {}
        self.kafka.assign(tps)
        await self.kafka.seek_to_beginning(*tps)
        first = await self.kafka.beginning_offsets(tps)
        ends = await self.kafka.end_offsets(tps)
        return self.kafka, first, ends

    async def _partitions(self) -> list[int]:
        """The topic's partitions (none when the topic was never made: nothing to read)."""
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap_servers)
        await admin.start()
        try:
            (described,) = await admin.describe_topics([self.topic])
        finally:
            await admin.close()
        return sorted(p["partition"] for p in described["partitions"]) if described["error_code"] == 0 else []

    async def __aexit__(self, *exc) -> None:
        await self.kafka.stop()
