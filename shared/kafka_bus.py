"""The bus on Apache Kafka (aiokafka), behind the same port as the embedded bus.

- Producers: the outbox relay publishes each service's event store to its topic with an
  idempotent producer (``acks=all``), key = ``visit_id`` so one visit's events keep order.
- Consumers: one consumer group per consuming service (its name); offsets are committed
  only after the handler's effects, inbox row and position have committed in the
  service's database. That database position is the truth: on assignment the consumer
  seeks past what it has already handled.
- Poison events: after the consumer's retries, the event goes to ``<topic>.dlq`` (and to
  the ``consumer_dead_letters`` table) instead of blocking its partition.
- Stopping (``stop_soon``): relays and consumers finish the batch in hand (a consumer
  commits its offsets) and take no more; cancelled instead, a batch being handled rolls
  back and is read again by whoever has the partition next (the inbox makes that
  harmless). Each consumer leaves its group and the producer flushes, each within
  ``CLIENT_STOP_SECONDS`` (a broker that is away cannot hold the stop: what was not
  published is still in the outbox).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from functools import partial

import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from pydantic import ValidationError
from tenacity import AsyncRetrying, retry_if_exception_type, wait_exponential_jitter

from shared import tracing
from shared.consumer import EventConsumer
from shared.events import EventEnvelope
from shared.outbox import OutboxRelay
from shared.runtime import ServiceRuntime
from shared.topics import dead_letter_topic
from shared.tracking import Checkpoint

log = structlog.get_logger(__name__)

CLIENT_STOP_SECONDS = 1.0
LEADER_WAIT_SECONDS = 30.0


def _led(topic: dict) -> bool:
    """A described topic whose partitions all have a leader."""
    partitions = topic.get("partitions") or []
    return topic.get("error_code") == 0 and bool(partitions) and all(p["leader"] >= 0 for p in partitions)


async def _stop_client(client, what: str) -> None:
    """``client.stop()``, bounded (it waits for the broker when it cannot reach it)."""
    try:
        async with asyncio.timeout(CLIENT_STOP_SECONDS):
            await client.stop()
    except TimeoutError:
        log.warning("kafka_client_stop_cut_off", client=what)
    except Exception as error:  # noqa: BLE001 - stopping: report, go on
        log.warning("kafka_client_stop_failed", client=what, error=repr(error))


def encode(envelope: EventEnvelope) -> bytes:
    return envelope.model_dump_json().encode()


class KafkaPublisher:
    def __init__(self, producer: AIOKafkaProducer) -> None:
        self.producer = producer

    async def publish(self, topic: str, envelopes: Sequence[EventEnvelope]) -> None:
        sent = [
            await self.producer.send(
                topic,
                value=encode(e),
                key=e.partition_key.encode(),
                headers=[("event_type", e.event_type.encode()), *tracing.kafka_headers(e.trace)],
            )
            for e in envelopes
        ]
        await asyncio.gather(*sent)


class KafkaBus:
    def __init__(
        self,
        bootstrap_servers: str,
        partitions: int = 3,
        topics: Sequence[str] = (),
        batch_size: int = 200,
        prefix: str = "",
        replication_factor: int = 1,
    ) -> None:
        """``prefix`` namespaces topics and consumer groups on a shared cluster (tests, or
        several networks on one cluster); logical topic names stay the contract's."""
        self.prefix = prefix
        self.replication_factor = replication_factor
        self.bootstrap_servers = bootstrap_servers
        self.partitions = partitions
        self.topics = list(topics)
        self.batch_size = batch_size
        self.relays: dict[str, OutboxRelay] = {}
        self.consumers: list[EventConsumer] = []
        self.producer: AIOKafkaProducer | None = None
        self.lag: dict[tuple[str, str, int], int] = {}
        self.topics_led = False
        self.restarts = 0
        self.stopping = False

    # -- the same wiring calls the embedded bus offers ---------------------------------
    def register_producer(self, topic: str, runtime: ServiceRuntime) -> None:
        self.relays[topic] = OutboxRelay(topic, runtime.sessions, _LazyPublisher(self))

    def notifier(self, topic: str) -> Callable[[], None]:
        return lambda: self.relays[topic].wakeup.set() if topic in self.relays else None

    def subscribe(self, consumer: EventConsumer) -> None:
        consumer.dead_letter_sinks.append(self._to_dead_letter_topic)
        self.consumers.append(consumer)

    def physical(self, topic: str) -> str:
        return f"{self.prefix}{topic}"

    def logical(self, topic: str) -> str:
        return topic.removeprefix(self.prefix)

    def stop_soon(self) -> None:
        """Relays and consumers end after the batch in hand; ``run`` then returns."""
        self.stopping = True
        for relay in self.relays.values():
            relay.stop_soon()

    # -- running -----------------------------------------------------------------------
    async def ensure_topics(self) -> None:
        names = sorted({*self.topics, *self.relays, *(t for c in self.consumers for t in c.topics)})
        names = [self.physical(n) for n in names + [dead_letter_topic(n) for n in names]]
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap_servers)
        await admin.start()
        try:
            existing = set(await admin.list_topics())
            # The log is the history: topics keep their events for ever.
            wanted = [
                NewTopic(n, self.partitions, self.replication_factor, topic_configs={"retention.ms": "-1"})
                for n in names
                if n not in existing
            ]
            if wanted:
                with contextlib.suppress(TopicAlreadyExistsError):
                    await admin.create_topics(wanted)
            if not self.topics_led:
                await self._await_leaders(admin, names)
                self.topics_led = True
        finally:
            await admin.close()

    async def _await_leaders(self, admin: AIOKafkaAdminClient, names: list[str]) -> None:
        """Return once every partition of ``names`` has a leader that answers for it.

        A topic that was just created (by this process or by another service's) has no
        leader for a moment. A consumer that asks for its offsets then logs
        ``NotLeaderForPartitionError`` at error level and tries again. Waiting here first
        keeps the log free of errors that fix themselves. A ListOffsets request proves
        that the broker leads the partition, which metadata alone does not."""
        deadline = asyncio.get_running_loop().time() + LEADER_WAIT_SECONDS
        partitions: list[TopicPartition] = []
        while not partitions:
            described = await admin.describe_topics(names)
            if all(_led(topic) for topic in described) and len(described) == len(names):
                partitions = [
                    TopicPartition(topic["topic"], p["partition"]) for topic in described for p in topic["partitions"]
                ]
            elif asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"no leader for some of {names} after {LEADER_WAIT_SECONDS} s")
            else:
                await asyncio.sleep(0.05)
        probe = AIOKafkaConsumer(bootstrap_servers=self.bootstrap_servers, enable_auto_commit=False)
        await probe.start()
        try:
            # Name every topic to the client at once: end_offsets alone learns of one
            # unknown topic per 100 ms retry (2.5 s for the 24 topics of a service).
            await probe._client.set_topics([tp.topic for tp in partitions])  # noqa: SLF001
            await probe.end_offsets(partitions)  # retried quietly until each leader answers
        finally:
            await _stop_client(probe, "leader probe")

    async def start(self) -> None:
        """Create missing topics and start the producer (both needed before consuming)."""
        await self.ensure_topics()
        if self.producer is None:
            producer = AIOKafkaProducer(
                bootstrap_servers=self.bootstrap_servers,
                enable_idempotence=True,
                acks="all",
                linger_ms=2,
            )
            await producer.start()
            self.producer = producer

    async def stop(self) -> None:
        if self.producer:
            producer, self.producer = self.producer, None
            await _stop_client(producer, "producer")

    async def run(self) -> None:
        """Relay and consume until cancelled, riding out broker outages: a loop that fails
        (broker gone, timeout) is restarted with backoff and a fresh producer; meanwhile
        the services keep writing to their outboxes."""
        try:
            await self._supervised("start", self.start)
            async with asyncio.TaskGroup() as group:
                group.create_task(self._supervised("relays", self._relay_all))
                for consumer in self.consumers:
                    group.create_task(self._supervised(consumer.name, partial(self._consume, consumer)))
        finally:
            await self.stop()

    async def _supervised(self, what: str, job: Callable[[], Awaitable[None]]) -> None:
        def log_failure(state) -> None:
            self.restarts += 1
            log.warning("kafka_loop_restarting", loop=what, error=repr(state.outcome.exception()))

        retrying = AsyncRetrying(
            wait=wait_exponential_jitter(multiplier=0.5, max=10.0),
            retry=retry_if_exception_type(Exception),
            before_sleep=log_failure,
        )
        async for attempt in retrying:
            with attempt:
                await job()

    async def _relay_all(self) -> None:
        await self.start()
        try:
            async with asyncio.TaskGroup() as group:
                for relay in self.relays.values():
                    group.create_task(relay.run())
        except BaseExceptionGroup as failed:
            await self.stop()  # a producer that failed is replaced on the next round
            raise failed.exceptions[0] from None

    async def _consume(self, consumer: EventConsumer) -> None:
        kafka = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap_servers,
            group_id=f"{self.prefix}{consumer.name}",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            isolation_level="read_committed",
        )
        kafka.subscribe(
            [self.physical(t) for t in consumer.topics],
            listener=_SeekToStoredPositions(kafka, consumer, self.logical),
        )
        await kafka.start()
        try:
            while not self.stopping:
                batches = await kafka.getmany(timeout_ms=500, max_records=self.batch_size)
                for tp, records in batches.items():
                    await self._handle(consumer, tp, records)
                    await kafka.commit({tp: records[-1].offset + 1})
                    await self._record_lag(kafka, consumer, tp, records[-1].offset)
        finally:
            await _stop_client(kafka, f"consumer {consumer.name}")

    async def _handle(self, consumer: EventConsumer, tp: TopicPartition, records: list) -> None:
        """Decode a partition's batch and hand it over; undecodable messages go straight
        to the dead-letter topic (they can never succeed)."""
        items = []
        for record in records:
            checkpoint = Checkpoint(self.logical(tp.topic), tp.partition, record.offset + 1)
            try:
                items.append((_decoded(record), checkpoint))
            except (ValidationError, ValueError) as error:
                log.error("undecodable_message", topic=tp.topic, partition=tp.partition, offset=record.offset)
                if items:
                    await consumer.handle_batch(items)
                    items = []
                await self._send_raw_to_dlq(tp.topic, record, str(error))
        if items:
            await consumer.handle_batch(items)

    async def _record_lag(self, kafka: AIOKafkaConsumer, consumer: EventConsumer, tp, offset: int) -> None:
        highwater = kafka.highwater(tp)
        if highwater is not None:
            self.lag[(consumer.name, self.logical(tp.topic), tp.partition)] = max(0, highwater - offset - 1)

    async def _to_dead_letter_topic(self, envelope: EventEnvelope, checkpoint: Checkpoint, error: str) -> None:
        assert self.producer is not None
        await self.producer.send_and_wait(
            self.physical(dead_letter_topic(checkpoint.topic)),
            value=encode(envelope),
            key=envelope.partition_key.encode(),
            headers=[("error", error[:500].encode()), ("event_type", envelope.event_type.encode())],
        )

    async def _send_raw_to_dlq(self, topic: str, record, error: str) -> None:
        assert self.producer is not None
        await self.producer.send_and_wait(
            self.physical(dead_letter_topic(self.logical(topic))), value=record.value, key=record.key, headers=[("error", error[:500].encode())]
        )


def _decoded(record) -> EventEnvelope:
    """The envelope, with the trace context its message headers carry (tracing on)."""
    envelope = EventEnvelope.model_validate_json(record.value)
    if tracing.active() and (trace := tracing.trace_from_headers(record.headers)):
        return envelope.model_copy(update={"trace": trace})
    return envelope


class _LazyPublisher:
    """The producer exists only once the bus has started."""

    def __init__(self, bus: KafkaBus) -> None:
        self.bus = bus

    async def publish(self, topic: str, envelopes: Sequence[EventEnvelope]) -> None:
        assert self.bus.producer is not None, "the Kafka bus has not started"
        await KafkaPublisher(self.bus.producer).publish(self.bus.physical(topic), envelopes)


class _SeekToStoredPositions(ConsumerRebalanceListener):
    """On assignment, skip what this service's database says it has already handled."""

    def __init__(self, kafka: AIOKafkaConsumer, consumer: EventConsumer, logical) -> None:
        self.kafka = kafka
        self.consumer = consumer
        self.logical = logical

    async def on_partitions_revoked(self, revoked) -> None:
        pass

    async def on_partitions_assigned(self, assigned) -> None:
        stored = await self.consumer.positions()
        for tp in assigned:
            position = stored.get((self.logical(tp.topic), tp.partition))
            if position is not None:
                self.kafka.seek(tp, position)
