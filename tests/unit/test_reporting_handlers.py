"""Reporting's handlers over the in-memory unit of work, driven through EventConsumer."""

from __future__ import annotations

import random
import uuid
from dataclasses import asdict
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from services.reporting.handlers import event_handlers
from services.reporting.unit_of_work import FakeReportingUnitOfWork
from shared import topics
from shared.consumer import EventConsumer
from shared.events import DomainEvent, EventEnvelope
from shared.tracking import Checkpoint
from tests import factories
from tests.factories import (
    case_dead_lettered,
    case_forwarded,
    case_forwarding_failed,
    case_queued_for_delivery,
    case_routed_to_agency,
    classification_overridden,
    envelope,
    new_id,
    question_classified,
    question_recorded,
    question_resolved,
    satisfaction,
    visit_called,
    visit_ended,
    visit_registered,
)

DAY = "2025-03-03"
OFFICE = "sk-malmo"
PIN_TEXT = "Jag har personnummer 19811218-9876 och undrar om hemlighetsordet"
PIN = "198112189876"


def at(minutes: float) -> datetime:
    return factories.at(minutes, DAY)


class Feed:
    """A fake reporting database and its consumer; each topic gets rising positions."""

    def __init__(self) -> None:
        self.uow = FakeReportingUnitOfWork()
        self.consumer = EventConsumer(
            "reporting",
            list(topics.ALL),
            self.uow.fresh,
            event_handlers(ZoneInfo("Europe/Stockholm")),
        )
        self.positions = dict.fromkeys(topics.ALL, 0)

    async def send(self, *events: DomainEvent) -> list[EventEnvelope]:
        envelopes = [envelope(e) for e in events]
        for e in envelopes:
            await self.deliver(e)
        return envelopes

    async def deliver(self, env: EventEnvelope) -> None:
        topic = {"intake": topics.INTAKE, "routing": topics.ROUTING}.get(
            env.producer, topics.GATEWAY
        )
        self.positions[topic] += 1
        await self.consumer.handle(env, Checkpoint(topic, 0, self.positions[topic]))

    def visit(self, visit_id: str) -> dict:
        return asdict(self.uow.store.visits[visit_id])

    def question(self, question_id: str) -> dict:
        return asdict(self.uow.store.questions[question_id])

    def snapshot(self) -> tuple[dict, dict]:
        store = self.uow.store
        return (
            {k: asdict(v) for k, v in store.visits.items()},
            {k: asdict(v) for k, v in store.questions.items()},
        )


async def test_a_classification_arriving_before_its_question_is_kept_and_completed() -> None:
    feed, visit_id, question_id = Feed(), new_id(), new_id()
    ids = {"visit_id": visit_id, "question_id": question_id}
    late_evening = datetime(2025, 3, 3, 23, 30, tzinfo=UTC)  # 00:30 on the 4th in Stockholm
    question = question_recorded(**ids, agency="forsakringskassan", recorded_at=late_evening)
    classified = question_classified(**ids, level="in_depth", agency="forsakringskassan", case_type="bostadsbidrag")
    await feed.send(classified, question)

    row = feed.question(question_id)
    assert (row["level"], row["agency"], row["case_type"]) == (
        "in_depth",
        "forsakringskassan",
        "bostadsbidrag",
    )
    assert row["recorded_at"] == late_evening and row["hint_agency"] == "forsakringskassan"
    assert row["service_day"] == "2025-03-04", "the day is intake's, in local time"
    assert feed.visit(visit_id)["question_count"] == 1


async def test_the_same_event_id_delivered_twice_is_applied_once() -> None:
    feed, visit_id, question_id = Feed(), new_id(), new_id()
    first = await feed.send(
        visit_registered(visit_id=visit_id), question_recorded(visit_id=visit_id, question_id=question_id)
    )
    before = feed.snapshot()
    for env in first:
        await feed.deliver(env)

    assert feed.consumer.handled == 2
    assert feed.snapshot() == before
    assert feed.visit(visit_id)["question_count"] == 1


async def test_question_count_counts_each_question_once_whatever_names_it() -> None:
    feed, visit_id = Feed(), new_id()
    q1, q2, q3 = new_id(), new_id(), new_id()
    await feed.send(
        question_classified(visit_id=visit_id, question_id=q3),
        visit_registered(visit_id=visit_id),
        question_recorded(visit_id=visit_id, question_id=q1),
    )
    # Same question again under a new event id (a re-publish): still one question.
    await feed.send(*(question_recorded(visit_id=visit_id, question_id=q) for q in (q1, q2, q3)))
    await feed.send(question_resolved(visit_id=visit_id, question_id=q2, outcome="answered"))

    assert feed.visit(visit_id)["question_count"] == 3
    assert feed.question(q2)["outcome"] == "answered"


async def test_wait_and_service_seconds_are_computed_even_when_the_call_comes_first() -> None:
    feed, visit_id = Feed(), new_id()
    survey = satisfaction(treatment=5, time=3, got_help=True)
    await feed.send(
        visit_called(visit_id=visit_id, desk="2", called_at=at(12.5)),
        visit_registered(visit_id=visit_id, channel="kiosk", registered_at=at(0)),
        visit_called(visit_id=visit_id, desk="3", called_at=at(20)),  # a later recall
        visit_ended(visit_id=visit_id, satisfaction=survey, ended_at=at(30)),
    )
    row = feed.visit(visit_id)
    assert row["wait_seconds"] == 750.0
    assert row["service_seconds"] == 1050.0
    assert row["service_day"] == "2025-03-03" and row["channel"] == "kiosk"
    assert (
        row["satisfaction_treatment"],
        row["satisfaction_time"],
        row["satisfaction_got_help"],
    ) == (5, 3, True)


async def test_no_question_text_or_identity_number_reaches_the_store() -> None:
    feed, visit_id, question_id = Feed(), new_id(), new_id()
    ids = {"visit_id": visit_id, "question_id": question_id}
    question = question_recorded(**ids, text=PIN_TEXT, personal_identity_number=PIN)
    routed = case_routed_to_agency(
        **ids, text=PIN_TEXT, personal_identity_number=PIN, destination="agency_system", routed_at=at(2)
    )
    await feed.send(visit_registered(visit_id=visit_id), question, routed)

    row = feed.question(question_id)
    assert row["routed_at"] == at(2) and row["destination"] == "agency_system"
    everything = repr(feed.uow.store) + repr(row) + repr(feed.uow.state.tracking)
    for secret in ("19811218-9876", PIN, "9876", "hemlighetsordet"):
        assert secret not in everything


async def test_a_case_delivered_after_a_failed_attempt_reports_delivered_and_its_attempts() -> None:
    feed, visit_id, question_id = Feed(), new_id(), new_id()
    common = {"visit_id": visit_id, "question_id": question_id, "agency": "skatteverket"}
    await feed.send(
        case_queued_for_delivery(**common, office_id=OFFICE),
        case_forwarding_failed(**common, attempt=1),
        case_forwarded(**common, agency_reference="SKV-42", attempt=2),
    )
    row = feed.question(question_id)
    assert (row["delivery_status"], row["delivery_attempts"]) == ("delivered", 2)
    assert row["agency_reference"] == "SKV-42" and row["agency"] == "skatteverket"
    assert row["office_id"] == OFFICE and feed.visit(visit_id)["question_count"] == 1


async def test_a_dead_lettered_case_reports_it_but_a_delivered_one_stays_delivered() -> None:
    feed, parked, delivered = Feed(), new_id(), new_id()
    visit_id = new_id()
    await feed.send(
        case_dead_lettered(visit_id=visit_id, question_id=parked, attempt=5),
        case_forwarded(visit_id=visit_id, question_id=delivered, attempt=1),
        case_dead_lettered(visit_id=visit_id, question_id=delivered, attempt=5),
    )
    assert (
        feed.question(parked)["delivery_status"],
        feed.question(parked)["delivery_attempts"],
    ) == ("dead_lettered", 5)
    assert feed.question(delivered)["delivery_status"] == "delivered"
    assert feed.visit(visit_id)["question_count"] == 2


async def test_a_handlers_override_stands_against_a_later_classification() -> None:
    feed, visit_id, question_id = Feed(), new_id(), new_id()
    ids = {"visit_id": visit_id, "question_id": question_id}
    override = classification_overridden(
        **ids, level="complex", agency="skatteverket", case_type="id_kort", destination="agency_desk"
    )
    await feed.send(question_classified(**ids), override, question_classified(**ids))
    row = feed.question(question_id)
    assert (row["level"], row["agency"], row["case_type"]) == ("complex", "skatteverket", "id_kort")
    assert row["overridden"] is True and row["destination"] == "agency_desk"


async def test_events_of_unknown_types_are_skipped_without_dead_letters() -> None:
    feed, visit_id = Feed(), new_id()
    for event_type in ("gateway.CaseParked", "routing.QuestionReopened"):
        await feed.deliver(
            EventEnvelope(
                event_type=event_type,
                stream_id=visit_id,
                stream_version=1,
                correlation_id=uuid.uuid4(),
                producer="gateway",
                payload={"visit_id": visit_id, "question_id": new_id()},
            )
        )
    assert feed.consumer.handled == 2 and feed.consumer.dead_lettered == 0
    assert feed.snapshot() == ({}, {})


def visit_story(visit_id: str, q1: str, q2: str) -> dict[str, list[DomainEvent]]:
    """One visit's events per topic, each topic in its own (guaranteed) order."""
    first, second = {"visit_id": visit_id, "question_id": q1}, {"visit_id": visit_id, "question_id": q2}
    gateway = second | {"agency": "skatteverket"}
    return {
        "intake": [
            visit_registered(visit_id=visit_id, registered_at=at(0)),
            visit_called(visit_id=visit_id, called_at=at(10)),
            question_recorded(**first, recorded_at=at(11)),
            question_recorded(**second, text=PIN_TEXT, recorded_at=at(12)),
            question_resolved(**first, outcome="answered", resolved_at=at(15)),
            visit_ended(visit_id=visit_id, ended_at=at(40)),
        ],
        "routing": [
            question_classified(**first, classified_at=at(20)),
            question_classified(**second, level="complex", classified_at=at(20)),
            classification_overridden(**first, level="in_depth", case_type="foraldrapenning", overridden_at=at(21)),
            case_routed_to_agency(**second, text=PIN_TEXT, personal_identity_number=PIN, routed_at=at(22)),
        ],
        "gateway": [
            case_queued_for_delivery(**gateway, queued_at=at(23)),
            case_forwarding_failed(**gateway, attempt=1, retry_at=None, failed_at=at(24)),
            case_forwarded(**gateway, attempt=2, forwarded_at=at(26)),
        ],
    }


def interleave(story: dict[str, list[DomainEvent]], rng: random.Random) -> list[DomainEvent]:
    queues = {k: list(v) for k, v in story.items()}
    merged: list[DomainEvent] = []
    while any(queues.values()):
        merged.append(queues[rng.choice([k for k, q in queues.items() if q])].pop(0))
    return merged


async def test_any_interleaving_of_the_three_topics_gives_the_same_rows() -> None:
    visit_id, q1, q2 = new_id(), new_id(), new_id()
    story = visit_story(visit_id, q1, q2)
    natural = Feed()
    await natural.send(*[e for topic in ("intake", "routing", "gateway") for e in story[topic]])
    expected = natural.snapshot()
    visit, first, second = expected[0][visit_id], expected[1][q1], expected[1][q2]
    assert (visit["question_count"], visit["wait_seconds"], visit["service_seconds"]) == (
        2,
        600.0,
        1800.0,
    )
    assert (first["level"], first["case_type"], first["overridden"], first["outcome"]) == (
        "in_depth",
        "foraldrapenning",
        True,
        "answered",
    )
    assert (second["level"], second["delivery_status"], second["delivery_attempts"]) == (
        "complex",
        "delivered",
        2,
    )
    assert second["service_day"] == "2025-03-03" and second["routed_at"] == at(22)

    rng = random.Random(20250303)
    for _ in range(40):
        feed = Feed()
        await feed.send(*interleave(story, rng))
        assert feed.snapshot() == expected
