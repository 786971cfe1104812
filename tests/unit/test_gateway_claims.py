"""Claims that never hand one delivery out twice, and each outcome recorded once, in its
own transaction as its call ends."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from services.agency_gateway.domain.outcomes import Accepted, RetryPolicy
from services.agency_gateway.handlers import claim_due, record_outcome
from services.agency_gateway.unit_of_work import FakeGatewayUnitOfWork
from shared.errors import NotFound
from tests.unit.test_gateway_outcomes import make_worker, queue

POLICY = RetryPolicy(initial=2.0, jitter=0.0)
LEASE = timedelta(seconds=60)


class Counting:
    """A unit-of-work factory over one fake database that counts the commits."""

    def __init__(self, database: FakeGatewayUnitOfWork) -> None:
        self.database = database
        self.made: list[FakeGatewayUnitOfWork] = []

    def __call__(self) -> FakeGatewayUnitOfWork:
        uow = self.database.fresh()
        self.made.append(uow)
        return uow

    def total(self) -> int:
        return sum(uow.commits for uow in self.made)


def status(database: FakeGatewayUnitOfWork, question_id: str) -> str:
    return database.deliveries.rows[question_id].status


async def test_each_outcome_is_recorded_in_its_own_transaction_as_its_call_ends():
    release = asyncio.Event()

    async def agency(request: httpx.Request) -> httpx.Response:
        await release.wait()
        return httpx.Response(201, json={"reference": request.headers["Idempotency-Key"][:8]})

    worker, database = make_worker(agency)
    factory = Counting(database)
    worker.uow_factory = factory
    cases = [await queue(database) for _ in range(4)]
    tasks = await worker.start_due()
    assert len(tasks) == 4
    release.set()
    await asyncio.gather(*tasks)

    assert all(status(database, q) == "delivered" for q in cases)
    assert factory.total() == 1 + 4  # the claim, then one commit per outcome
    assert len(database.events.of_type("gateway.CaseForwarded")) == 4
    assert worker.traffic.in_flight == {} and worker.tasks == {}


async def test_an_outcome_for_an_unknown_delivery_is_refused():
    """The worker logs it and leaves the case to its lease (sent again, same key)."""
    database = FakeGatewayUnitOfWork()
    with pytest.raises(NotFound):
        await record_outcome(str(uuid.uuid4()), Accepted("SKV-1"), database.fresh(), POLICY, lambda: 0.0)
    assert database.events.of_type("gateway.CaseForwarded") == []


async def test_an_outcome_already_recorded_elsewhere_is_not_recorded_again():
    """Another worker (its lease ran out) recorded the outcome first: the later outcome
    leaves that delivery alone."""
    database = FakeGatewayUnitOfWork()
    done = await queue(database)
    await record_outcome(done, Accepted("SKV-1"), database.fresh(), POLICY, lambda: 0.0)

    await record_outcome(done, Accepted("SKV-9"), database.fresh(), POLICY, lambda: 0.0)

    assert database.deliveries.rows[done].agency_reference == "SKV-1"
    assert len(database.events.of_type("gateway.CaseForwarded")) == 1


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


async def test_a_delivery_waiting_for_its_outcome_to_be_recorded_is_not_claimed_again():
    """The delivery (and its slot) stays this worker's until the outcome is recorded,
    even if its lease ran out meanwhile."""
    sent: list[str] = []

    def agency(request: httpx.Request) -> httpx.Response:
        sent.append(request.headers["Idempotency-Key"])
        return httpx.Response(201, json={"reference": "SKV-1"})

    worker, database = make_worker(agency)
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
    assert list(worker.traffic.in_flight) == [question_id]  # held until recorded
    worker.clock = lambda: datetime.now(UTC) + timedelta(hours=1)  # the lease has run out
    assert await worker.start_due() == []
    hold.set()
    await task
    assert sent == [question_id] and status(database, question_id) == "delivered"
    assert worker.traffic.in_flight == {}
