"""The delivery worker's loop: woken by queued cases, waits for due retries, keeps
agencies apart, bounds concurrency, and leaves interrupted deliveries to be resent."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import httpx

from services.agency_gateway.adapters.agency_client import AgencyClient
from services.agency_gateway.config import GatewaySettings
from services.agency_gateway.entrypoints.consumers import build_consumer
from services.agency_gateway.entrypoints.workers import DeliveryWorker
from services.agency_gateway.unit_of_work import FakeGatewayUnitOfWork
from shared import topics
from shared.tracking import Checkpoint
from tests.factories import case_routed_to_agency, envelope

# A long idle wait: the tests pass only if the worker is woken, not by polling.
IDLE = 30.0


async def eventually(check: Callable[[], bool | Awaitable[bool]], within: float = 5.0) -> None:
    deadline = time.monotonic() + within
    while True:
        result = check()
        if await result if isinstance(result, Awaitable) else result:
            return
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.005)


class Gateway:
    """A worker and a consumer over one fake database, the agency a MockTransport."""

    def __init__(self, agency, **settings: object) -> None:
        self.settings = GatewaySettings(agency_retry_jitter=0.0, **settings)
        self.database = FakeGatewayUnitOfWork()
        http = httpx.AsyncClient(transport=httpx.MockTransport(agency))
        client = AgencyClient(http, self.settings.agency_request_timeout_seconds)
        self.worker = DeliveryWorker(self.database.fresh, client, self.settings, idle_seconds=IDLE)
        self.consumer = build_consumer(self.database.fresh, self.worker.wake)
        self.position = 0

    async def route(self, agency: str = "skatteverket") -> str:
        event = case_routed_to_agency(agency=agency)
        self.position += 1
        await self.consumer.handle(envelope(event), Checkpoint(topics.ROUTING, 0, self.position))
        return event.question_id

    def status(self, question_id: str) -> str:
        return self.database.deliveries.rows[question_id].status

    @asynccontextmanager
    async def running(self):
        task = asyncio.create_task(self.worker.run())
        try:
            yield
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


def ok(request: httpx.Request) -> httpx.Response:
    return httpx.Response(201, json={"reference": request.headers["Idempotency-Key"][:8]})


async def test_a_queued_case_wakes_the_idle_worker():
    gateway = Gateway(ok)
    async with gateway.running():
        await asyncio.sleep(0)  # the worker is now waiting (IDLE seconds)
        question_id = await gateway.route()
        await eventually(lambda: gateway.status(question_id) == "delivered", within=2.0)


async def test_the_worker_wakes_itself_when_a_retry_falls_due():
    answers = iter([httpx.Response(503), httpx.Response(201, json={"reference": "R"})])
    gateway = Gateway(lambda _: next(answers), agency_retry_initial_seconds=0.05)
    async with gateway.running():
        question_id = await gateway.route()
        await eventually(lambda: gateway.status(question_id) == "delivered", within=2.0)
    assert gateway.database.deliveries.rows[question_id].attempts == 2


async def test_a_hanging_agency_does_not_hold_up_another_agency():
    release = asyncio.Event()

    async def agency(request: httpx.Request) -> httpx.Response:
        if "polisen" in request.url.path:
            await release.wait()
        return ok(request)

    gateway = Gateway(agency)
    async with gateway.running():
        slow = await gateway.route("polisen")
        fast = await gateway.route("skatteverket")
        await eventually(lambda: gateway.status(fast) == "delivered")
        assert gateway.status(slow) == "pending"
        release.set()
        await eventually(lambda: gateway.status(slow) == "delivered")


async def test_calls_in_flight_are_bounded_per_agency_and_in_total():
    release = asyncio.Event()
    in_flight: list[str] = []
    peak: dict[str, int] = {}

    async def agency(request: httpx.Request) -> httpx.Response:
        name = request.url.path.split("/")[3]
        in_flight.append(name)
        peak[name] = max(peak.get(name, 0), in_flight.count(name))
        peak["total"] = max(peak.get("total", 0), len(in_flight))
        await release.wait()
        in_flight.remove(name)
        return ok(request)

    gateway = Gateway(agency, agency_max_in_flight=5, agency_max_in_flight_per_agency=3)
    async with gateway.running():
        cases = [await gateway.route("polisen") for _ in range(6)]
        cases += [await gateway.route("trafikverket") for _ in range(3)]
        await eventually(lambda: len(in_flight) == 5)
        release.set()
        await eventually(lambda: all(gateway.status(q) == "delivered" for q in cases))
    assert peak["polisen"] == 3 and peak["trafikverket"] <= 3 and peak["total"] == 5


async def test_a_delivery_cut_off_mid_call_is_resent_with_the_same_key_after_its_lease():
    """A stop that cannot hand the delivery back (here: its database is away; or a
    crash) leaves the lease: the case is resent when it runs out."""
    keys: list[str] = []
    called = asyncio.Event()

    async def hangs(request: httpx.Request) -> httpx.Response:
        keys.append(request.headers["Idempotency-Key"])
        called.set()
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    gateway = Gateway(hangs, agency_request_timeout_seconds=60)
    gateway.worker.stop_grace_seconds = 0.01
    async with gateway.running():
        question_id = await gateway.route()
        await called.wait()
        gateway.worker.uow_factory = database_away
    # Cut off between the POST and the commit: the row is still open, under lease.
    row = gateway.database.deliveries.rows[question_id]
    assert row.status == "pending" and row.next_attempt_at > datetime.now(UTC)

    restarted = Gateway(lambda r: httpx.Response(409, json={"reference": "SKV-1"}))
    restarted.database = gateway.database
    restarted.worker.uow_factory = gateway.database.fresh
    assert await restarted.worker.run_once() == 0  # lease still running
    restarted.worker.clock = lambda: datetime.now(UTC) + timedelta(seconds=63)
    assert await restarted.worker.run_once() == 1
    assert (row := gateway.database.deliveries.rows[question_id]).status == "delivered"
    assert row.agency_reference == "SKV-1" and keys == [question_id]


def database_away():
    raise OSError("the database is away")


async def test_a_stop_hands_back_a_call_still_in_flight_and_it_is_resent_at_once():
    keys: list[str] = []
    called = asyncio.Event()

    async def hangs(request: httpx.Request) -> httpx.Response:
        keys.append(request.headers["Idempotency-Key"])
        called.set()
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    gateway = Gateway(hangs, agency_request_timeout_seconds=60)
    gateway.worker.stop_grace_seconds = 0.05
    async with gateway.running():
        question_id = await gateway.route()
        await called.wait()
    row = gateway.database.deliveries.rows[question_id]
    assert row.status == "pending" and row.next_attempt_at <= datetime.now(UTC), "handed back: due now"

    restarted = Gateway(lambda r: httpx.Response(409, json={"reference": "SKV-1"}))
    restarted.database = gateway.database
    restarted.worker.uow_factory = gateway.database.fresh
    assert await restarted.worker.run_once() == 1  # at once, not after the lease
    assert (row := gateway.database.deliveries.rows[question_id]).status == "delivered"
    assert row.agency_reference == "SKV-1" and keys == [question_id]


async def test_a_stop_lets_a_call_in_flight_finish_and_records_its_outcome():
    release = asyncio.Event()

    async def slowish(request: httpx.Request) -> httpx.Response:
        release.set()
        await asyncio.sleep(0.2)
        return ok(request)

    gateway = Gateway(slowish)
    task = asyncio.create_task(gateway.worker.run())
    question_id = await gateway.route()
    await release.wait()
    task.cancel()  # the stop: within its grace (2 s) the answer comes and is recorded
    await asyncio.gather(task, return_exceptions=True)
    assert gateway.status(question_id) == "delivered"


async def test_with_nothing_due_the_worker_sleeps_until_the_next_due_time():
    gateway = Gateway(ok)
    assert await gateway.worker._seconds_until_due() == IDLE
    question_id = await gateway.route()
    assert await gateway.worker._seconds_until_due() == 0.01  # due now: the floor
    row = gateway.database.deliveries.rows[question_id]
    row.next_attempt_at = datetime.now(UTC) + timedelta(seconds=10)
    assert 9 < await gateway.worker._seconds_until_due() <= 10
