"""The consumer handler for routing.CaseRoutedToAgency, with in-memory fakes."""

from __future__ import annotations

import json
import uuid

from services.agency_gateway.entrypoints.consumers import build_consumer
from services.agency_gateway.handlers import queue_case
from services.agency_gateway.unit_of_work import FakeGatewayUnitOfWork
from shared import topics
from shared.tracking import Checkpoint
from tests.factories import case_routed_to_agency, envelope, question_classified

PIN = "198112189876"


async def test_a_routed_case_is_queued_with_its_event_in_one_commit():
    uow = FakeGatewayUnitOfWork()
    routed = envelope(case_routed_to_agency(agency="skatteverket"))
    async with uow:
        await queue_case(routed.event(), routed, uow)
        await uow.commit()

    question_id = routed.payload["question_id"]
    row = uow.deliveries.rows[question_id]
    assert (row.status, row.attempts, row.agency) == ("pending", 0, "skatteverket")
    assert row.next_attempt_at is not None
    [queued] = uow.events.log
    assert queued.event_type == "gateway.CaseQueuedForDelivery"
    assert (queued.stream_id, queued.stream_version) == (question_id, 1)
    assert queued.correlation_id == routed.correlation_id
    assert queued.causation_id == routed.event_id


async def test_the_payload_keeps_text_and_identity_number_but_the_event_does_not():
    uow = FakeGatewayUnitOfWork()
    routed = envelope(case_routed_to_agency(text="Jag har flyttat men adressen stämmer inte", personal_identity_number=PIN))
    async with uow:
        await queue_case(routed.event(), routed, uow)
        await uow.commit()

    row = uow.deliveries.rows[routed.payload["question_id"]]
    case = json.loads(row.case_payload)
    assert case["personal_identity_number"] == PIN
    assert case["case_id"] == routed.payload["question_id"]
    assert set(case) == {
        "case_id",
        "visit_id",
        "office_id",
        "agency",
        "case_type",
        "text",
        "personal_identity_number",
        "destination",
        "routed_at",
    }
    stored = json.dumps([e.payload for e in uow.events.log])
    assert PIN not in stored and "adressen" not in stored


async def test_the_worker_is_woken_after_the_commit_and_not_on_rollback():
    woken: list[int] = []
    uow = FakeGatewayUnitOfWork()
    routed = envelope(case_routed_to_agency())
    async with uow:
        await queue_case(routed.event(), routed, uow, wake=lambda: woken.append(1))
        assert woken == []
    assert woken == [] and uow.deliveries.rows == {}

    async with uow:
        await queue_case(routed.event(), routed, uow, wake=lambda: woken.append(1))
        await uow.commit()
    assert woken == [1]


async def test_the_same_event_through_the_consumer_queues_one_delivery():
    database = FakeGatewayUnitOfWork()
    consumer = build_consumer(database.fresh)
    routed = envelope(case_routed_to_agency())
    await consumer.handle(routed, Checkpoint(topics.ROUTING, 0, 1))
    await consumer.handle(routed, Checkpoint(topics.ROUTING, 0, 1))

    assert len(database.deliveries.rows) == 1
    assert len(database.events.of_type("gateway.CaseQueuedForDelivery")) == 1
    assert await consumer.positions() == {(topics.ROUTING, 0): 1}


async def test_a_second_routing_event_for_a_queued_question_is_ignored():
    database = FakeGatewayUnitOfWork()
    consumer = build_consumer(database.fresh)
    question_id = str(uuid.uuid4())
    first = case_routed_to_agency(question_id=question_id, agency="skatteverket")
    await consumer.handle(envelope(first), Checkpoint(topics.ROUTING, 0, 1))
    again = case_routed_to_agency(question_id=question_id, agency="polisen")
    await consumer.handle(envelope(again), Checkpoint(topics.ROUTING, 0, 2))

    assert database.deliveries.rows[question_id].agency == "skatteverket"
    assert len(database.events.log) == 1
    assert consumer.dead_lettered == 0


async def test_other_routing_events_are_marked_handled_without_effects():
    database = FakeGatewayUnitOfWork()
    consumer = build_consumer(database.fresh)
    classified = envelope(question_classified(level="general"))
    await consumer.handle(classified, Checkpoint(topics.ROUTING, 0, 7))

    assert database.deliveries.rows == {} and database.events.log == []
    assert await consumer.positions() == {(topics.ROUTING, 0): 7}
