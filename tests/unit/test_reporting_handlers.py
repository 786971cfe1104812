"""Reporting's handlers over the in-memory unit of work, driven through EventConsumer."""

from __future__ import annotations

import random
import uuid
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from services.agency_gateway.domain.events import (
    CaseDeadLettered,
    CaseForwarded,
    CaseForwardingFailed,
    CaseQueuedForDelivery,
)
from services.intake.domain.events import (
    QuestionRecorded,
    QuestionResolved,
    Satisfaction,
    VisitCalled,
    VisitEnded,
    VisitRegistered,
)
from services.reporting.handlers import event_handlers
from services.reporting.unit_of_work import FakeReportingUnitOfWork
from services.routing.domain.events import (
    CaseRoutedToAgency,
    ClassificationOverridden,
    QuestionClassified,
)
from shared import topics
from shared.consumer import EventConsumer
from shared.events import DomainEvent, EventEnvelope
from shared.tracking import Checkpoint

T0 = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)
OFFICE = "sk-malmo"
PIN_TEXT = "Jag har personnummer 19811218-9876 och undrar om hemlighetsordet"
PIN = "198112189876"


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def new_id() -> str:
    return str(uuid.uuid4())


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


def envelope(event: DomainEvent) -> EventEnvelope:
    return EventEnvelope.wrap(event, stream_id=event.visit_id, stream_version=1)


def registered(visit_id: str, minutes: float = 0) -> VisitRegistered:
    return VisitRegistered(
        visit_id=visit_id,
        office_id=OFFICE,
        channel="kiosk",
        agency=None,
        ticket="A001",
        service_day="2025-03-03",
        registered_at=at(minutes),
    )


def recorded(
    visit_id: str, question_id: str, minutes: float, text: str = "Hej"
) -> QuestionRecorded:
    return QuestionRecorded(
        visit_id=visit_id,
        question_id=question_id,
        office_id=OFFICE,
        text=text,
        agency="forsakringskassan",
        case_type=None,
        personal_identity_number=None,
        recorded_at=at(minutes),
    )


def classified(
    visit_id: str, question_id: str, level: str = "general", minutes: float = 20
) -> QuestionClassified:
    return QuestionClassified(
        visit_id=visit_id,
        question_id=question_id,
        office_id=OFFICE,
        level=level,
        agency="forsakringskassan",
        case_type="bostadsbidrag",
        confidence=0.8,
        explanation="ord: bostadsbidrag",
        destination="office",
        needs_review=False,
        model_version="rules-1",
        classified_at=at(minutes),
    )


async def test_a_classification_arriving_before_its_question_is_kept_and_completed() -> None:
    feed, visit_id, question_id = Feed(), new_id(), new_id()
    late_evening = datetime(2025, 3, 3, 23, 30, tzinfo=UTC)  # 00:30 on the 4th in Stockholm
    question = recorded(visit_id, question_id, 0).model_copy(update={"recorded_at": late_evening})
    await feed.send(classified(visit_id, question_id, "in_depth"), question)

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
    first = await feed.send(registered(visit_id), recorded(visit_id, question_id, 5))
    before = feed.snapshot()
    for env in first:
        await feed.deliver(env)

    assert feed.consumer.handled == 2
    assert feed.snapshot() == before
    assert feed.visit(visit_id)["question_count"] == 1


async def test_question_count_counts_each_question_once_whatever_names_it() -> None:
    feed, visit_id = Feed(), new_id()
    q1, q2, q3 = new_id(), new_id(), new_id()
    await feed.send(classified(visit_id, q3), registered(visit_id), recorded(visit_id, q1, 1))
    # Same question again under a new event id (a re-publish): still one question.
    await feed.send(recorded(visit_id, q1, 1), recorded(visit_id, q2, 2), recorded(visit_id, q3, 3))
    await feed.send(
        QuestionResolved(
            visit_id=visit_id, question_id=q2, outcome="answered", note=None, resolved_at=at(9)
        )
    )

    assert feed.visit(visit_id)["question_count"] == 3
    assert feed.question(q2)["outcome"] == "answered"


async def test_wait_and_service_seconds_are_computed_even_when_the_call_comes_first() -> None:
    feed, visit_id = Feed(), new_id()
    satisfaction = Satisfaction(treatment=5, time=3, got_help=True)
    await feed.send(
        VisitCalled(visit_id=visit_id, desk="2", called_at=at(12.5)),
        registered(visit_id),
        VisitCalled(visit_id=visit_id, desk="3", called_at=at(20)),  # a later recall
        VisitEnded(visit_id=visit_id, satisfaction=satisfaction, ended_at=at(30)),
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
    question = recorded(visit_id, question_id, 1, PIN_TEXT).model_copy(
        update={"personal_identity_number": PIN}
    )
    routed = CaseRoutedToAgency(
        visit_id=visit_id,
        question_id=question_id,
        office_id=OFFICE,
        agency="skatteverket",
        case_type="id_kort",
        text=PIN_TEXT,
        personal_identity_number=PIN,
        destination="agency_system",
        routed_at=at(2),
    )
    await feed.send(registered(visit_id), question, routed)

    row = feed.question(question_id)
    assert row["routed_at"] == at(2) and row["destination"] == "agency_system"
    everything = repr(feed.uow.store) + repr(row) + repr(feed.uow.state.tracking)
    for secret in ("19811218-9876", PIN, "9876", "hemlighetsordet"):
        assert secret not in everything


async def test_a_case_delivered_after_a_failed_attempt_reports_delivered_and_its_attempts() -> None:
    feed, visit_id, question_id = Feed(), new_id(), new_id()
    common = {"visit_id": visit_id, "question_id": question_id, "agency": "skatteverket"}
    await feed.send(
        CaseQueuedForDelivery(**common, office_id=OFFICE, case_type="id_kort", queued_at=at(1)),
        CaseForwardingFailed(**common, attempt=1, reason="503", retry_at=at(2), failed_at=at(1.5)),
        CaseForwarded(**common, agency_reference="SKV-42", attempt=2, forwarded_at=at(2)),
    )
    row = feed.question(question_id)
    assert (row["delivery_status"], row["delivery_attempts"]) == ("delivered", 2)
    assert row["agency_reference"] == "SKV-42" and row["agency"] == "skatteverket"
    assert row["office_id"] == OFFICE and feed.visit(visit_id)["question_count"] == 1


async def test_a_dead_lettered_case_reports_it_but_a_delivered_one_stays_delivered() -> None:
    feed, parked, delivered = Feed(), new_id(), new_id()
    visit_id = new_id()

    def dead(question_id: str) -> CaseDeadLettered:
        return CaseDeadLettered(
            visit_id=visit_id,
            question_id=question_id,
            agency="skatteverket",
            attempt=5,
            reason="422 from agency",
            dead_lettered_at=at(9),
        )

    await feed.send(
        dead(parked),
        CaseForwarded(
            visit_id=visit_id,
            question_id=delivered,
            agency="skatteverket",
            agency_reference="SKV-7",
            attempt=1,
            forwarded_at=at(3),
        ),
        dead(delivered),
    )
    assert (
        feed.question(parked)["delivery_status"],
        feed.question(parked)["delivery_attempts"],
    ) == ("dead_lettered", 5)
    assert feed.question(delivered)["delivery_status"] == "delivered"
    assert feed.visit(visit_id)["question_count"] == 2


async def test_a_handlers_override_stands_against_a_later_classification() -> None:
    feed, visit_id, question_id = Feed(), new_id(), new_id()
    override = ClassificationOverridden(
        visit_id=visit_id,
        question_id=question_id,
        office_id=OFFICE,
        previous_level="general",
        previous_agency="forsakringskassan",
        previous_case_type="bostadsbidrag",
        level="complex",
        agency="skatteverket",
        case_type="id_kort",
        destination="agency_desk",
        reason="id-kort",
        handler="h1",
        overridden_at=at(25),
    )
    await feed.send(classified(visit_id, question_id), override, classified(visit_id, question_id))
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
    gateway = {"visit_id": visit_id, "question_id": q2, "agency": "skatteverket"}
    return {
        "intake": [
            registered(visit_id),
            VisitCalled(visit_id=visit_id, desk="1", called_at=at(10)),
            recorded(visit_id, q1, 11),
            recorded(visit_id, q2, 12, PIN_TEXT),
            QuestionResolved(
                visit_id=visit_id, question_id=q1, outcome="answered", note=None, resolved_at=at(15)
            ),
            VisitEnded(visit_id=visit_id, satisfaction=None, ended_at=at(40)),
        ],
        "routing": [
            classified(visit_id, q1),
            classified(visit_id, q2, "complex"),
            ClassificationOverridden(
                visit_id=visit_id,
                question_id=q1,
                office_id=OFFICE,
                previous_level="general",
                previous_agency="forsakringskassan",
                previous_case_type="bostadsbidrag",
                level="in_depth",
                agency="forsakringskassan",
                case_type="foraldrapenning",
                destination="office",
                reason="vab",
                handler="h1",
                overridden_at=at(21),
            ),
            CaseRoutedToAgency(
                visit_id=visit_id,
                question_id=q2,
                office_id=OFFICE,
                agency="skatteverket",
                case_type="id_kort",
                text=PIN_TEXT,
                personal_identity_number=PIN,
                destination="agency_system",
                routed_at=at(22),
            ),
        ],
        "gateway": [
            CaseQueuedForDelivery(
                **gateway, office_id=OFFICE, case_type="id_kort", queued_at=at(23)
            ),
            CaseForwardingFailed(
                **gateway, attempt=1, reason="timeout", retry_at=None, failed_at=at(24)
            ),
            CaseForwarded(**gateway, agency_reference="SKV-1", attempt=2, forwarded_at=at(26)),
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
