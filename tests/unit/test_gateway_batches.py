"""Outcomes recorded in batches, and claims that never hand one delivery out twice."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import httpx

from services.agency_gateway.domain.outcomes import (
    Accepted,
    Rejected,
    RetryPolicy,
    TransientFailure,
)
from services.agency_gateway.handlers import Attempted, claim_due, record_outcomes
from services.agency_gateway.unit_of_work import FakeGatewayUnitOfWork
from shared.errors import NotFound
from tests.unit.test_gateway_outcomes import SETTINGS, make_worker, queue

BATCHED = SETTINGS.model_copy(update={"agency_outcome_batch": 64})

POLICY = RetryPolicy(initial=2.0, jitter=0.0)
LEASE = timedelta(seconds=60)


class Counting:
    """A unit-of-work factory over one fake database that counts the commits."""

    def __init__(self, database: FakeGatewayUnitOfWork) -> None:
        self.database = database
        self.commits = 0
        self.made: list[FakeGatewayUnitOfWork] = []

    def __call__(self) -> FakeGatewayUnitOfWork:
        uow = self.database.fresh()
        self.made.append(uow)
        return uow

    def total(self) -> int:
        return sum(uow.commits for uow in self.made)


def status(database: FakeGatewayUnitOfWork, question_id: str) -> str:
    return database.deliveries.rows[question_id].status


async def test_a_batch_of_outcomes_is_recorded_in_one_transaction():
    database = FakeGatewayUnitOfWork()
    ok, failed, refused = [await queue(database) for _ in range(3)]
    factory = Counting(database)
    attempts = [
        Attempted(ok, Accepted("SKV-1"), POLICY),
        Attempted(failed, TransientFailure("HTTP 503"), POLICY),
        Attempted(refused, Rejected("HTTP 422"), POLICY),
    ]

    assert await record_outcomes(attempts, factory, lambda: 0.0) == {}

    assert factory.total() == 1
    assert [status(database, q) for q in (ok, failed, refused)] == [
        "delivered",
        "failed",
        "dead_lettered",
    ]
    row = database.deliveries.rows[ok]
    assert row.agency_reference == "SKV-1" and row.case_payload is None  # erased once delivered
    forwarded = database.events.of_type("gateway.CaseForwarded")
    assert [e.stream_id for e in forwarded] == [ok]


async def test_an_outcome_batch_with_one_failure_records_the_others():
    database = FakeGatewayUnitOfWork()
    first, second = await queue(database), await queue(database)
    missing = str(uuid.uuid4())  # no such delivery: the batch transaction fails
    attempts = [
        Attempted(first, Accepted("SKV-1"), POLICY),
        Attempted(missing, Accepted("SKV-2"), POLICY),
        Attempted(second, Accepted("SKV-3"), POLICY),
    ]

    failed = await record_outcomes(attempts, database.fresh, lambda: 0.0)

    assert list(failed) == [missing] and isinstance(failed[missing], NotFound)
    assert status(database, first) == status(database, second) == "delivered"
    assert len(database.events.of_type("gateway.CaseForwarded")) == 2  # each once


async def test_an_outcome_already_recorded_elsewhere_is_not_recorded_again():
    """Another worker (its lease ran out) recorded the outcome first: the batch leaves
    that delivery alone and records the rest."""
    database = FakeGatewayUnitOfWork()
    done, open_ = await queue(database), await queue(database)
    await record_outcomes([Attempted(done, Accepted("SKV-1"), POLICY)], database.fresh, lambda: 0.0)

    attempts = [
        Attempted(done, Accepted("SKV-9"), POLICY),
        Attempted(open_, Accepted("SKV-2"), POLICY),
    ]
    assert await record_outcomes(attempts, database.fresh, lambda: 0.0) == {}

    assert database.deliveries.rows[done].agency_reference == "SKV-1"
    assert status(database, open_) == "delivered"
    assert len(database.events.of_type("gateway.CaseForwarded")) == 2


async def test_a_claimed_batch_is_under_one_lease_and_not_handed_out_again():
    database = FakeGatewayUnitOfWork()
    cases = {await queue(database) for _ in range(5)}
    now = datetime.now(UTC)

    first = await claim_due(database.fresh(), now, LEASE, 3, lambda _: 10)
    second = await claim_due(database.fresh(), now, LEASE, 10, lambda _: 10)
    later = await claim_due(database.fresh(), now + timedelta(seconds=1), LEASE, 10, lambda _: 10)

    assert len(first) == 3 and len(second) == 2 and later == []
    assert {c.question_id for c in first} | {c.question_id for c in second} == cases
    assert not {c.question_id for c in first} & {c.question_id for c in second}
    leases = {database.deliveries.rows[c.question_id].next_attempt_at for c in first}
    assert leases == {now + LEASE}


async def test_the_worker_records_outcomes_of_calls_ending_together_in_one_batch():
    release = asyncio.Event()

    async def agency(request: httpx.Request) -> httpx.Response:
        await release.wait()
        return httpx.Response(201, json={"reference": request.headers["Idempotency-Key"][:8]})

    worker, database = make_worker(agency, BATCHED)
    factory = Counting(database)
    worker.uow_factory = factory
    cases = [await queue(database) for _ in range(4)]
    tasks = await worker.start_due()
    assert len(tasks) == 4
    release.set()
    await asyncio.gather(*tasks)

    assert all(status(database, q) == "delivered" for q in cases)
    assert factory.total() <= 3  # the claim, and the four outcomes in one or two batches
    assert worker.traffic.in_flight == {} and worker.tasks == {}


async def test_a_delivery_waiting_for_its_outcome_to_be_recorded_is_not_claimed_again():
    """Its slot is free once the agency answered, but the delivery stays this worker's
    until the outcome is recorded, even if its lease ran out meanwhile."""
    sent: list[str] = []

    def agency(request: httpx.Request) -> httpx.Response:
        sent.append(request.headers["Idempotency-Key"])
        return httpx.Response(201, json={"reference": "SKV-1"})

    worker, database = make_worker(agency, BATCHED)
    hold = asyncio.Event()
    recording = asyncio.Event()
    fresh = database.fresh

    class Slow(FakeGatewayUnitOfWork):
        async def _commit(self) -> None:
            if self.events.staged:  # the outcome's transaction
                recording.set()
                await hold.wait()
            await super()._commit()

    worker.uow_factory = lambda: Slow(
        fresh().state, database.deliveries.rows, database.callbacks.rows
    )
    question_id = await queue(database)
    task = (await worker.start_due())[0]
    await recording.wait()
    assert worker.traffic.in_flight == {}  # the agency has answered: the slot is free
    worker.clock = lambda: datetime.now(UTC) + timedelta(hours=1)  # the lease has run out
    assert await worker.start_due() == []
    hold.set()
    await task
    assert sent == [question_id] and status(database, question_id) == "delivered"


async def test_with_a_batch_of_one_each_outcome_is_recorded_as_its_call_ends():
    worker, database = make_worker(lambda r: httpx.Response(201, json={"reference": "R"}), SETTINGS)
    question_id = await queue(database)
    assert await worker.run_once() == 1
    assert status(database, question_id) == "delivered" and worker.recorder is None
