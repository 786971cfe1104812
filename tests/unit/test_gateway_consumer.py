"""The consumer handler for routing.CaseRoutedToAgency, with in-memory fakes."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

from services.agency_gateway.entrypoints.consumer import build_consumer
from services.agency_gateway.handlers import queue_case
from services.agency_gateway.unit_of_work import FakeGatewayUnitOfWork
from services.routing.domain.events import CaseRoutedToAgency, QuestionClassified
from shared import topics
from shared.events import EventEnvelope
from shared.tracking import Checkpoint

PIN = "198112189876"


def routed(question_id: str | None = None, agency: str = "skatteverket") -> EventEnvelope:
    question_id = question_id or str(uuid.uuid4())
    event = CaseRoutedToAgency(
        visit_id=str(uuid.uuid4()),
        question_id=question_id,
        office_id="malmo",
        agency=agency,
        case_type="folkbokforing",
        text="Jag har flyttat men adressen stämmer inte",
        personal_identity_number=PIN,
        destination="agency_system",
        routed_at=datetime(2025, 3, 1, 9, 0, tzinfo=UTC),
    )
    return EventEnvelope.wrap(event, stream_id=question_id, stream_version=2)


async def test_a_routed_case_is_queued_with_its_event_in_one_commit():
    uow = FakeGatewayUnitOfWork()
    envelope = routed()
    async with uow:
        await queue_case(envelope.event(), envelope, uow)
        await uow.commit()

    question_id = envelope.payload["question_id"]
    row = uow.deliveries.rows[question_id]
    assert (row.status, row.attempts, row.agency) == ("pending", 0, "skatteverket")
    assert row.next_attempt_at is not None
    [queued] = uow.events.log
    assert queued.event_type == "gateway.CaseQueuedForDelivery"
    assert (queued.stream_id, queued.stream_version) == (question_id, 1)
    assert queued.correlation_id == envelope.correlation_id
    assert queued.causation_id == envelope.event_id


async def test_the_payload_keeps_text_and_identity_number_but_the_event_does_not():
    uow = FakeGatewayUnitOfWork()
    envelope = routed()
    async with uow:
        await queue_case(envelope.event(), envelope, uow)
        await uow.commit()

    row = uow.deliveries.rows[envelope.payload["question_id"]]
    case = json.loads(row.case_payload)
    assert case["personal_identity_number"] == PIN
    assert case["case_id"] == envelope.payload["question_id"]
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
    envelope = routed()
    async with uow:
        await queue_case(envelope.event(), envelope, uow, wake=lambda: woken.append(1))
        assert woken == []
    assert woken == [] and uow.deliveries.rows == {}

    async with uow:
        await queue_case(envelope.event(), envelope, uow, wake=lambda: woken.append(1))
        await uow.commit()
    assert woken == [1]


async def test_the_same_event_through_the_consumer_queues_one_delivery():
    database = FakeGatewayUnitOfWork()
    consumer = build_consumer(database.fresh)
    envelope = routed()
    await consumer.handle(envelope, Checkpoint(topics.ROUTING, 0, 1))
    await consumer.handle(envelope, Checkpoint(topics.ROUTING, 0, 1))

    assert len(database.deliveries.rows) == 1
    assert len(database.events.of_type("gateway.CaseQueuedForDelivery")) == 1
    assert await consumer.positions() == {(topics.ROUTING, 0): 1}


async def test_a_second_routing_event_for_a_queued_question_is_ignored():
    database = FakeGatewayUnitOfWork()
    consumer = build_consumer(database.fresh)
    question_id = str(uuid.uuid4())
    await consumer.handle(routed(question_id), Checkpoint(topics.ROUTING, 0, 1))
    await consumer.handle(routed(question_id, "polisen"), Checkpoint(topics.ROUTING, 0, 2))

    assert database.deliveries.rows[question_id].agency == "skatteverket"
    assert len(database.events.log) == 1
    assert consumer.dead_lettered == 0


async def test_other_routing_events_are_marked_handled_without_effects():
    database = FakeGatewayUnitOfWork()
    consumer = build_consumer(database.fresh)
    classified = QuestionClassified(
        visit_id="v",
        question_id="q",
        office_id="malmo",
        level="general",
        agency="polisen",
        case_type="pass",
        confidence=0.9,
        explanation="...",
        destination="office",
        needs_review=False,
        model_version="1",
        classified_at=datetime(2025, 3, 1, tzinfo=UTC),
    )
    envelope = EventEnvelope.wrap(classified, stream_id="q", stream_version=1)
    await consumer.handle(envelope, Checkpoint(topics.ROUTING, 0, 7))

    assert database.deliveries.rows == {} and database.events.log == []
    assert await consumer.positions() == {(topics.ROUTING, 0): 7}
