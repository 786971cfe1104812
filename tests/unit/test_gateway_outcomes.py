"""What each answer of the agency (httpx.MockTransport plays it) does to a delivery."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from services.agency_gateway.adapters.agency_client import AgencyClient
from services.agency_gateway.config import GatewaySettings
from services.agency_gateway.entrypoints.workers import DeliveryWorker
from services.agency_gateway.handlers import queue_case
from services.agency_gateway.unit_of_work import FakeGatewayUnitOfWork
from tests.factories import case_routed_to_agency, envelope

PIN = "198112189876"
SETTINGS = GatewaySettings(
    agency_retry_initial_seconds=2.0, agency_retry_jitter=0.0, agency_request_timeout_seconds=0.2
)


def make_worker(handler, settings: GatewaySettings = SETTINGS):
    database = FakeGatewayUnitOfWork()
    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    agency = AgencyClient(http, settings.agency_request_timeout_seconds)
    return DeliveryWorker(database.fresh, agency, settings), database


async def queue(database: FakeGatewayUnitOfWork, agency: str = "skatteverket") -> str:
    event = case_routed_to_agency(agency=agency, personal_identity_number=PIN)
    uow = database.fresh()
    async with uow:
        await queue_case(event, envelope(event), uow)
        await uow.commit()
    return event.question_id


def types(database: FakeGatewayUnitOfWork) -> list[str]:
    return [e.event_type.split(".")[1] for e in database.events.log]


async def test_a_201_delivers_the_case_with_the_agency_reference():
    seen: list[httpx.Request] = []

    def agency(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(201, json={"reference": "SKV-2025-000001"})

    worker, database = make_worker(agency)
    question_id = await queue(database)
    assert await worker.run_once() == 1

    row = database.deliveries.rows[question_id]
    assert (row.status, row.attempts, row.agency_reference) == ("delivered", 1, "SKV-2025-000001")
    assert row.next_attempt_at is None and row.case_payload is None
    [request] = seen
    assert request.headers["Idempotency-Key"] == question_id
    assert str(request.url) == "http://127.0.0.1:8009/v1/agencies/skatteverket/cases"
    body = json.loads(request.content)
    assert (body["case_id"], body["personal_identity_number"]) == (question_id, PIN)
    assert types(database) == ["CaseQueuedForDelivery", "CaseForwarded"]


async def test_a_409_means_the_agency_already_has_it_and_names_the_reference():
    worker, database = make_worker(
        lambda _: httpx.Response(409, json={"reference": "SKV-7", "duplicate": True})
    )
    question_id = await queue(database)
    await worker.run_once()
    row = database.deliveries.rows[question_id]
    assert (row.status, row.agency_reference) == ("delivered", "SKV-7")
    assert types(database)[-1] == "CaseForwarded"


@pytest.mark.parametrize("status", [400, 404, 410, 422])
async def test_other_4xx_dead_letter_the_case_with_a_scrubbed_reason(status):
    answer = {"error": f"bad case for {PIN}"}
    worker, database = make_worker(lambda _: httpx.Response(status, json=answer))
    question_id = await queue(database)
    await worker.run_once()
    row = database.deliveries.rows[question_id]
    assert (row.status, row.attempts, row.next_attempt_at) == ("dead_lettered", 1, None)
    assert row.last_error.startswith(f"HTTP {status}") and PIN not in row.last_error
    assert row.case_payload is not None  # kept for a replay
    assert types(database)[-1] == "CaseDeadLettered"
    assert PIN not in json.dumps([e.payload for e in database.events.log])


async def test_a_409_without_a_reference_is_dead_lettered_not_retried_for_ever():
    worker, database = make_worker(lambda _: httpx.Response(409, json={"error": "conflict"}))
    question_id = await queue(database)
    await worker.run_once()
    assert database.deliveries.rows[question_id].status == "dead_lettered"


def raises(error: type[httpx.TransportError]):
    def agency(request: httpx.Request) -> httpx.Response:
        raise error("simulated", request=request)

    return agency


async def never_answers(_: httpx.Request) -> httpx.Response:
    await asyncio.Event().wait()
    raise AssertionError("unreachable")


@pytest.mark.parametrize(
    ("agency", "reason"),
    [
        (lambda _: httpx.Response(503, text="down for maintenance"), "HTTP 503"),
        (lambda _: httpx.Response(500), "HTTP 500"),
        (lambda _: httpx.Response(429), "HTTP 429"),
        (lambda _: httpx.Response(201, json={}), "HTTP 201"),
        (raises(httpx.ReadTimeout), "no answer within 0.2 s"),
        (raises(httpx.ConnectError), "connection failed: ConnectError"),
        (never_answers, "no answer within 0.2 s"),
    ],
    ids=["503", "500", "429", "2xx-without-reference", "read-timeout", "refused", "hangs"],
)
async def test_transient_failures_are_retried_later_with_backoff(agency, reason):
    worker, database = make_worker(agency)
    question_id = await queue(database)
    before = datetime.now(UTC)
    await worker.run_once()

    row = database.deliveries.rows[question_id]
    assert (row.status, row.attempts) == ("failed", 1)
    assert row.last_error.startswith(reason)
    assert before + timedelta(seconds=2) <= row.next_attempt_at
    assert row.next_attempt_at <= datetime.now(UTC) + timedelta(seconds=2)
    failed = database.events.log[-1]
    assert failed.event_type == "gateway.CaseForwardingFailed"
    assert failed.payload["attempt"] == 1 and failed.payload["retry_at"] is not None
    assert await worker.run_once() == 0  # not due yet


async def test_a_failed_case_is_sent_again_with_the_same_key_when_due():
    answers = iter(
        [httpx.Response(503), httpx.Response(503), httpx.Response(201, json={"reference": "R"})]
    )
    keys: list[str] = []

    def agency(request: httpx.Request) -> httpx.Response:
        keys.append(request.headers["Idempotency-Key"])
        return next(answers)

    worker, database = make_worker(agency)
    question_id = await queue(database)
    now = [datetime.now(UTC)]
    worker.clock = lambda: now[0]
    for _ in range(3):
        await worker.run_once()
        now[0] += timedelta(minutes=5)

    row = database.deliveries.rows[question_id]
    assert (row.status, row.attempts, row.agency_reference) == ("delivered", 3, "R")
    assert keys == [question_id] * 3
    assert [e.payload.get("attempt") for e in database.events.log] == [None, 1, 2, 3]
