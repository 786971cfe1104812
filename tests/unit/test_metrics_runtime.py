"""What ``/metrics`` reads from a bootstrapped runtime, with fakes that stand where the
runtime, its consumers and its bus stand: consumer counters, Kafka lag, outbox backlog."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from types import SimpleNamespace

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from shared import topics
from shared.api import create_app


@dataclass
class FakeConsumer:
    name: str
    topics: list[str]
    handled: int = 0
    dead_lettered: int = 0


@dataclass
class FakeRelay:
    waiting: int = 0
    fails: bool = False
    hangs: bool = False
    asked: int = 0

    async def backlog(self) -> int:
        self.asked += 1
        if self.fails:
            raise ConnectionError("database down")
        if self.hangs:
            await asyncio.sleep(3600)
        return self.waiting


@dataclass
class FakeKafkaBus:
    """What ``KafkaBus`` exposes: lag per (consumer, topic, partition) and relays by topic."""

    lag: dict[tuple[str, str, int], int] = field(default_factory=dict)
    relays: dict[str, FakeRelay] = field(default_factory=dict)


async def all_ready() -> dict[str, bool]:
    return {"database": True}


def app_with(runtime):
    app = create_app("runtime metrics test", all_ready)
    app.state.runtime = runtime
    return app


async def samples_of(app) -> dict[tuple[str, tuple], float]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://svc") as client:
        response = await client.get("/metrics")
    assert response.status_code == 200
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
        if not s.name.startswith("servicekontor_http")
    }


def runtime_of(consumers, bus=None, topic=None):
    return SimpleNamespace(consumers=consumers, topic=topic, bus=bus)


async def test_handled_and_dead_lettered_are_read_per_consumer_at_each_scrape():
    consumer = FakeConsumer("reporting", list(topics.ALL), handled=3)
    app = app_with(runtime_of([consumer]))
    first = await samples_of(app)
    assert first[("servicekontor_consumer_events_handled_total", (("consumer", "reporting"),))] == 3
    assert first[("servicekontor_consumer_events_dead_lettered_total", (("consumer", "reporting"),))] == 0
    consumer.handled, consumer.dead_lettered = 10, 2
    second = await samples_of(app)
    assert second[("servicekontor_consumer_events_handled_total", (("consumer", "reporting"),))] == 10
    assert second[("servicekontor_consumer_events_dead_lettered_total", (("consumer", "reporting"),))] == 2


async def test_kafka_lag_is_the_buses_own_figure_for_this_services_consumers_only():
    bus = FakeKafkaBus(lag={("routing", topics.INTAKE, 0): 4, ("routing", topics.INTAKE, 2): 0,
                            ("reporting", topics.INTAKE, 1): 99})
    app = app_with(runtime_of([FakeConsumer("routing", [topics.INTAKE])], bus, topics.ROUTING))
    lag = {k: v for k, v in (await samples_of(app)).items() if k[0] == "servicekontor_consumer_lag_events"}
    assert lag == {
        ("servicekontor_consumer_lag_events", (("consumer", "routing"), ("partition", "0"), ("topic", topics.INTAKE))): 4,
        ("servicekontor_consumer_lag_events", (("consumer", "routing"), ("partition", "2"), ("topic", topics.INTAKE))): 0,
    }


async def test_outbox_backlog_is_the_relay_of_the_services_own_topic():
    bus = FakeKafkaBus(relays={topics.INTAKE: FakeRelay(waiting=7), topics.ROUTING: FakeRelay(waiting=1)})
    app = app_with(runtime_of([], bus, topics.INTAKE))
    samples = await samples_of(app)
    assert samples[("servicekontor_outbox_backlog_events", (("topic", topics.INTAKE),))] == 7
    assert ("servicekontor_outbox_backlog_events", (("topic", topics.ROUTING),)) not in samples
    bus.relays[topics.INTAKE].waiting = 0
    assert (await samples_of(app))[("servicekontor_outbox_backlog_events", (("topic", topics.INTAKE),))] == 0
    assert bus.relays[topics.INTAKE].asked == 2 and bus.relays[topics.ROUTING].asked == 0


@pytest.mark.parametrize("trouble", ["fails", "hangs"])
async def test_an_unreadable_backlog_is_left_out_and_the_scrape_still_answers(trouble):
    relay = FakeRelay(waiting=5, **{trouble: True})
    consumer = FakeConsumer("agency_gateway", [topics.ROUTING], handled=1)
    app = app_with(runtime_of([consumer], FakeKafkaBus(relays={topics.GATEWAY: relay}), topics.GATEWAY))
    app.state.runtime_metrics.timeout_seconds = 0.05
    samples = await asyncio.wait_for(samples_of(app), timeout=5)
    assert not any(name == "servicekontor_outbox_backlog_events" for name, _ in samples)
    assert samples[("servicekontor_consumer_events_handled_total", (("consumer", "agency_gateway"),))] == 1


async def test_a_backlog_that_was_readable_once_is_not_repeated_when_it_no_longer_is():
    relay = FakeRelay(waiting=5)
    app = app_with(runtime_of([], FakeKafkaBus(relays={topics.INTAKE: relay}), topics.INTAKE))
    assert ("servicekontor_outbox_backlog_events", (("topic", topics.INTAKE),)) in await samples_of(app)
    relay.fails = True
    assert ("servicekontor_outbox_backlog_events", (("topic", topics.INTAKE),)) not in await samples_of(app)


async def test_without_a_bus_there_is_no_lag_or_backlog_but_the_counters_remain():
    app = app_with(runtime_of([FakeConsumer("routing", [topics.INTAKE], handled=2)], topic=topics.ROUTING))
    samples = await samples_of(app)
    assert {name for name, _ in samples} == {
        "servicekontor_consumer_events_handled_total",
        "servicekontor_consumer_events_dead_lettered_total",
    }
