"""The visit overview's read model (services/intake/domain/overview.py): it folds routing's and
the gateway's events exactly as their aggregates do, in any order across the two topics,
once however often they come, and never keeps an identity number."""

from __future__ import annotations

import itertools
import json
from dataclasses import asdict

import pytest

from services.agency_gateway.domain.model import Delivery
from services.intake.adapters.overview_tables import InMemoryVisitOverview
from services.intake.entrypoints.consumers import CONSUMER_NAME, build_consumers
from services.intake.views import decision_public, delivery_public
from services.routing.domain.model import Decision
from shared import topics
from shared.events import DomainEvent, EventEnvelope
from shared.tracking import Checkpoint
from shared.unit_of_work import InMemoryUnitOfWork
from tests.factories import (
    agency_case_updated,
    at,
    case_dead_lettered,
    case_forwarded,
    case_forwarding_failed,
    case_queued_for_delivery,
    case_routed_to_agency,
    classification_overridden,
    dead_letter_replayed,
    envelopes,
    question_classified,
)
from tests.helpers import random_id

PIN = "198112189876"
VISIT, QUESTION = random_id(), random_id()
IDS = {"visit_id": VISIT, "question_id": QUESTION}
ID_CARD = {"office_id": "pitea", "agency": "skatteverket", "case_type": "id_kort"}
CLASSIFIED = {"level": "complex", "destination_reason": "Piteå does not take ID-card applications."}
OVERRIDE = {"previous_level": "complex", "previous_agency": "skatteverket", "previous_case_type": "id_kort",
            "level": "complex", "destination": "booked_meeting", "destination_reason": "Booked at Luleå.",
            "handler": "anna"}


def gateway_story() -> list[DomainEvent]:
    """Queued, failed, dead-lettered, replayed, delivered; the agency's reports come with
    their own times, the older one last."""
    ids = IDS | {"agency": "skatteverket"}
    return [
        case_queued_for_delivery(**IDS, **ID_CARD),
        case_forwarding_failed(**ids, attempt=1),
        case_dead_lettered(**ids, attempt=1, reason="HTTP 400"),
        dead_letter_replayed(**ids, previous_error="HTTP 400"),
        case_forwarded(**ids, agency_reference="SKV-1", attempt=2),
        agency_case_updated(
            **ids, agency_reference="SKV-1", status="in_progress", note=f"Handläggs, pnr {PIN}",
            callback_id="c2", agency_updated_at=at(120),
        ),
        agency_case_updated(
            **ids, agency_reference="SKV-1", status="received", note="Mottagen",
            callback_id="c1", agency_updated_at=at(60),
        ),
    ]


def topic_of(envelope: EventEnvelope) -> str:
    return topics.ROUTING if envelope.producer == "routing" else topics.GATEWAY


class Harness:
    def __init__(self) -> None:
        self.repo = InMemoryVisitOverview()
        self.state = InMemoryUnitOfWork().state
        (self.consumer,) = build_consumers(lambda: InMemoryUnitOfWork(self.state), lambda _uow: self.repo)
        self.positions = itertools.count(1)

    async def feed(self, items: list[EventEnvelope]) -> None:
        for envelope in items:
            await self.consumer.handle(envelope, Checkpoint(topic_of(envelope), 0, next(self.positions)))

    async def overview(self) -> tuple[dict | None, dict | None]:
        decisions, deliveries = await self.repo.of_visit(VISIT)
        decision = decisions.get(QUESTION)
        return decision_public(decision), delivery_public(decision, deliveries.get(QUESTION))


ROUTING_STORY = [
    question_classified(**IDS, **ID_CARD, **CLASSIFIED),
    case_routed_to_agency(**IDS, **ID_CARD, personal_identity_number=PIN),
    classification_overridden(**IDS, **ID_CARD, **OVERRIDE, reason="needs Polisen"),
]


def test_the_consumer_is_intakes_and_reads_the_routing_and_gateway_topics():
    consumer = Harness().consumer
    assert consumer.name == CONSUMER_NAME == "intake"
    assert consumer.topics == [topics.ROUTING, topics.GATEWAY]
    assert set(consumer.handlers) == {
        "routing.QuestionClassified", "routing.ClassificationOverridden", "routing.CaseRoutedToAgency",
        "gateway.CaseQueuedForDelivery", "gateway.CaseForwarded", "gateway.CaseForwardingFailed",
        "gateway.CaseDeadLettered", "gateway.DeadLetterReplayed", "gateway.AgencyCaseUpdated",
    }


async def test_the_decision_is_routings_decision():
    harness = Harness()
    await harness.feed(envelopes(ROUTING_STORY))
    decision, _ = await harness.overview()
    s = Decision.rehydrate(QUESTION, ROUTING_STORY).state
    assert decision == {
        "level": s.level, "agency": s.agency, "case_type": s.case_type, "confidence": s.confidence,
        "explanation": s.explanation, "destination": s.destination,
        "destination_reason": s.destination_reason, "needs_review": s.needs_review, "overridden": True,
    }
    assert decision["explanation"].startswith("Overridden by anna: needs Polisen")


async def test_the_delivery_is_the_gateways_delivery_with_the_agencys_latest_report():
    harness = Harness()
    story = gateway_story()
    await harness.feed(envelopes(story))
    _, delivery = await harness.overview()
    s = Delivery.rehydrate(QUESTION, story).state
    assert (delivery["status"], delivery["attempts"], delivery["agency_reference"]) == (
        s.status, s.attempts, s.agency_reference
    ) == ("delivered", 2, "SKV-1")
    assert delivery["agency_status"] == {
        "status": s.agency_status, "note": "Handläggs, pnr [personnummer]", "updated_at": s.agency_status_at,
    }


@pytest.mark.parametrize("cut", [0, 1, 3, 7])
async def test_the_gateways_events_before_routings_give_the_same_overview(cut):
    in_order, gateway_first = Harness(), Harness()
    routing, gateway = envelopes(ROUTING_STORY), envelopes(gateway_story())
    await in_order.feed(routing + gateway)
    await gateway_first.feed(gateway[:cut] + routing + gateway[cut:])
    assert await gateway_first.overview() == await in_order.overview()


async def test_replays_change_nothing():
    harness = Harness()
    story = envelopes(ROUTING_STORY) + envelopes(gateway_story())
    await harness.feed(story)
    before = (json.dumps([asdict(v) for v in harness.repo.decisions.values()], default=str),
              json.dumps([asdict(v) for v in harness.repo.deliveries.values()], default=str))
    await harness.feed(story)  # the same events again: the inbox
    # The same events under new ids (the inbox does not know them): the stream versions.
    await harness.feed([e.model_copy(update={"event_id": random_id()}) for e in story])
    after = (json.dumps([asdict(v) for v in harness.repo.decisions.values()], default=str),
             json.dumps([asdict(v) for v in harness.repo.deliveries.values()], default=str))
    assert after == before
    assert harness.consumer.dead_lettered == 0


async def test_a_routed_case_not_yet_queued_by_the_gateway_is_pending():
    harness = Harness()
    await harness.feed(envelopes(ROUTING_STORY[:2]))
    _, delivery = await harness.overview()
    assert delivery == {
        "status": "pending", "attempts": 0, "agency": "skatteverket", "agency_reference": None, "agency_status": None,
    }


async def test_a_general_question_not_forwarded_has_a_decision_and_no_delivery():
    harness = Harness()
    await harness.feed(envelopes([question_classified(**IDS, level="general", destination="office")]))
    decision, delivery = await harness.overview()
    assert decision["level"] == "general" and delivery is None


async def test_a_delivery_seen_before_its_decision_shows_without_a_decision():
    harness = Harness()
    assert await harness.overview() == (None, None)
    await harness.feed(envelopes(gateway_story())[:2])
    decision, delivery = await harness.overview()
    assert decision is None and (delivery["status"], delivery["attempts"]) == ("failed", 1)


async def test_the_overview_never_keeps_an_identity_number():
    harness = Harness()
    story = [
        case_routed_to_agency(**IDS, **ID_CARD, personal_identity_number=PIN),
        question_classified(**IDS, **ID_CARD, **CLASSIFIED, explanation=f"pnr {PIN}"),
        classification_overridden(**IDS, **ID_CARD, **OVERRIDE, reason=f"pnr 811218-9876 {PIN}"),
    ]
    await harness.feed(envelopes(story) + envelopes(gateway_story()))
    kept = json.dumps(
        [asdict(v) for v in [*harness.repo.decisions.values(), *harness.repo.deliveries.values()]], default=str
    )
    assert PIN not in kept and "811218-9876" not in kept and "[personnummer]" in kept
