"""Dead-letter replays and agency status updates, through the handlers with fakes."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from services.agency_gateway.domain.commands import (
    RecordAgencyUpdate,
    ReplayDeadLetter,
    ReplayDeadLetters,
)
from services.agency_gateway.domain.model import Delivery
from services.agency_gateway.domain.outcomes import Rejected, RetryPolicy, TransientFailure
from services.agency_gateway.handlers import (
    queue_case,
    record_agency_update,
    record_outcome,
    replay_dead_letter,
    replay_dead_letters,
)
from services.agency_gateway.unit_of_work import FakeGatewayUnitOfWork
from services.routing.domain.events import CaseRoutedToAgency
from shared.errors import Conflict, InvalidInput, NotFound
from shared.events import EventEnvelope

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
POLICY = RetryPolicy(initial=1, maximum=8, jitter=0, max_attempts=2)


async def queued(database: FakeGatewayUnitOfWork, agency: str = "polisen") -> str:
    question_id = str(uuid.uuid4())
    event = CaseRoutedToAgency(
        visit_id="v",
        question_id=question_id,
        office_id="malmo",
        agency=agency,
        case_type="pass",
        text="Jag heter Anna, 198112189876",
        personal_identity_number="198112189876",
        destination="agency_system",
        routed_at=T0,
    )
    uow = database.fresh()
    async with uow:
        envelope = EventEnvelope.wrap(event, stream_id=question_id, stream_version=1)
        await queue_case(event, envelope, uow)
        await uow.commit()
    return question_id


async def dead(database: FakeGatewayUnitOfWork, agency: str = "polisen") -> str:
    question_id = await queued(database, agency)
    await record_outcome(question_id, Rejected("HTTP 401"), database.fresh(), POLICY, lambda: 0, T0)
    return question_id


def types(database: FakeGatewayUnitOfWork, question_id: str) -> list[str]:
    return [e.event_type.split(".")[1] for e in database.events.log if e.stream_id == question_id]


async def test_a_replay_names_who_did_it_and_makes_the_case_due_now():
    database = FakeGatewayUnitOfWork()
    question_id = await dead(database)
    woken: list[int] = []
    later = T0 + timedelta(hours=1)
    command = ReplayDeadLetter(question_id, "Handläggare Eva", "secret rotated")
    await replay_dead_letter(command, database.fresh(), lambda: woken.append(1), now=later)

    row = database.deliveries.rows[question_id]
    assert (row.status, row.next_attempt_at, row.attempts) == ("pending", later, 1)
    replayed = database.events.log[-1]
    assert replayed.event_type == "gateway.DeadLetterReplayed"
    assert replayed.payload["actor"] == "Handläggare Eva"
    assert replayed.payload["previous_error"] == "HTTP 401" and woken == [1]


async def test_after_a_replay_the_give_up_count_starts_again():
    database = FakeGatewayUnitOfWork()
    question_id = await dead(database)
    await replay_dead_letter(ReplayDeadLetter(question_id, "eva"), database.fresh())
    failure = TransientFailure("HTTP 503")
    delivery = await record_outcome(question_id, failure, database.fresh(), POLICY, lambda: 0, T0)
    assert (delivery.state.status, delivery.state.attempts) == ("failed", 2)
    delivery = await record_outcome(question_id, failure, database.fresh(), POLICY, lambda: 0, T0)
    assert delivery.state.status == "dead_lettered"


@pytest.mark.parametrize("make", [queued, None], ids=["not-dead", "unknown"])
async def test_only_a_dead_letter_can_be_replayed(make):
    database = FakeGatewayUnitOfWork()
    question_id = await make(database) if make else "nope"
    with pytest.raises(Conflict if make else NotFound):
        await replay_dead_letter(ReplayDeadLetter(question_id, "eva"), database.fresh())


async def test_replay_all_replays_each_dead_letter_of_the_agency_as_its_own_event():
    database = FakeGatewayUnitOfWork()
    polisen = [await dead(database) for _ in range(3)]
    other = await dead(database, "skatteverket")
    ids = await replay_dead_letters(ReplayDeadLetters("eva", agency="polisen"), database.fresh)
    assert sorted(ids) == sorted(polisen)
    assert all(types(database, q)[-1] == "DeadLetterReplayed" for q in polisen)
    assert database.deliveries.rows[other].status == "dead_lettered"


def update(question_id: str, callback_id: str = "cb-1", agency: str = "polisen", **kw):
    values = dict(
        agency=agency,
        callback_id=callback_id,
        case_id=question_id,
        status="in_progress",
        reference="POL-1",
        note="Handläggs av 198112189876",
        occurred_at=datetime.now(UTC),  # the case is queued at the real now
    )
    return RecordAgencyUpdate(**(values | kw))


async def test_an_agency_update_is_recorded_once_per_callback_id_and_scrubbed():
    database = FakeGatewayUnitOfWork()
    question_id = await queued(database)
    assert await record_agency_update(update(question_id), database.fresh()) is True
    assert await record_agency_update(update(question_id), database.fresh()) is False
    [event] = database.events.of_type("gateway.AgencyCaseUpdated")
    assert event.payload["status"] == "in_progress" and "198112189876" not in event.payload["note"]
    state = Delivery.rehydrate(question_id, [e.event() for e in database.events.log]).state
    assert (state.agency_status, state.agency_reference) == ("in_progress", "POL-1")


async def test_an_older_update_arriving_late_does_not_move_the_status_back():
    database = FakeGatewayUnitOfWork()
    question_id = await queued(database)
    later = datetime.now(UTC) + timedelta(minutes=5)
    await record_agency_update(update(question_id, "b", status="decided", occurred_at=later), database.fresh())
    await record_agency_update(update(question_id, "a", status="received"), database.fresh())
    state = Delivery.rehydrate(question_id, [e.event() for e in database.events.log]).state
    assert state.agency_status == "decided"
    assert len(database.events.of_type("gateway.AgencyCaseUpdated")) == 2  # both in history


async def test_an_update_for_another_agencys_case_is_not_found():
    database = FakeGatewayUnitOfWork()
    question_id = await queued(database, "skatteverket")
    with pytest.raises(NotFound):
        await record_agency_update(update(question_id, agency="polisen"), database.fresh())
    assert database.callbacks.rows == set()


@pytest.mark.parametrize("before", [timedelta(minutes=6), timedelta(days=365 * 2000)])
async def test_an_update_stamped_before_the_case_was_queued_is_refused(before):
    """Five minutes of clock skew are allowed; a date before that is invalid input."""
    database = FakeGatewayUnitOfWork()
    question_id = await queued(database)
    with pytest.raises(InvalidInput):
        await record_agency_update(update(question_id, occurred_at=datetime.now(UTC) - before), database.fresh())
    assert database.events.of_type("gateway.AgencyCaseUpdated") == []
    assert database.callbacks.rows == set()
    skewed = update(question_id, "cb-2", occurred_at=datetime.now(UTC) - timedelta(minutes=4))
    assert await record_agency_update(skewed, database.fresh()) is True


async def test_a_replay_reason_is_masked_where_it_enters():
    from services.agency_gateway.entrypoints.schemas import ReplayAllCreate, ReplayCreate

    for schema in (ReplayCreate, ReplayAllCreate):
        body = schema.model_validate({"reason": "ringde 070-123 45 67 om 198112189876, anna@example.se"})
        assert not any(pii in body.reason for pii in ("070-123", "198112189876", "anna@example.se"))
