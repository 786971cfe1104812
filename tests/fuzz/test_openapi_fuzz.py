"""Schemathesis against every service's OpenAPI, in process (ASGI: no server).

Each service runs on its own SQLite store under a temporary directory, with some real
data recorded first (visits, questions, decisions, a pending and a dead-lettered
delivery, reporting facts) so that part of the generated path ids reach real resources.
Every request carries an admin token (all scopes) so the fuzzing reaches the routes'
logic; schemathesis also sends cases without it (401 is documented). The checks: no 5xx,
and status code, content type, headers and body as the OpenAPI document says.

Bounded for CI: ``SK_FUZZ_EXAMPLES`` examples per operation in the fuzzing phase
(default 20), derandomized, so a run is repeatable. ``make fuzz`` runs the long one.
"""

from __future__ import annotations

import os
import uuid
import zlib
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.python import asgi

from services.agency_gateway.bootstrap import bootstrap as gateway_bootstrap
from services.agency_gateway.config import GatewaySettings
from services.agency_gateway.domain.events import CaseForwarded, CaseQueuedForDelivery
from services.agency_gateway.domain.outcomes import Rejected
from services.agency_gateway.handlers import record_outcome
from services.intake.bootstrap import bootstrap as intake_bootstrap
from services.intake.config import IntakeSettings
from services.intake.domain.events import (
    QuestionRecorded,
    Satisfaction,
    VisitCalled,
    VisitEnded,
    VisitRegistered,
)
from services.reporting.adapters.bi_tables import EXPORTABLE
from services.reporting.bootstrap import bootstrap as reporting_bootstrap
from services.reporting.config import ReportingSettings
from services.routing.bootstrap import bootstrap as routing_bootstrap
from services.routing.config import RoutingSettings
from services.routing.domain.events import CaseRoutedToAgency, QuestionClassified
from shared import topics
from shared.db import sqlite_url
from shared.events import DomainEvent, EventEnvelope
from shared.runtime import ServiceRuntime
from shared.tracking import Checkpoint
from tests.helpers import auth

EXAMPLES = int(os.environ.get("SK_FUZZ_EXAMPLES", "20"))
DATABASE_URL = os.environ.get("SK_FUZZ_DATABASE_URL") or None
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
PIN = "198112189876"

Known = dict[str, list[str]]  # path parameter name -> values that name real resources


class WithLifespan:
    """The service's app, with an ASGI lifespan that opens its store and records the seed
    data at startup and closes the runtime at shutdown. Schemathesis runs every app on
    one event loop thread of its own: the database connections must be made there."""

    def __init__(self, runtime: ServiceRuntime, seed: Callable[[ServiceRuntime], Awaitable[Known]]) -> None:
        self.runtime = runtime
        self.app = runtime.app
        self.seed = seed
        self.known: Known = {}

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.runtime.init_db()
                    self.known = await self.seed(self.runtime)
                except Exception as error:
                    await send({"type": "lifespan.startup.failed", "message": repr(error)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.runtime.close()
                await send({"type": "lifespan.shutdown.complete"})
                return


def load(runtime: ServiceRuntime, seed: Callable[[ServiceRuntime], Awaitable[Known]], data_dir: Path):
    """The service's OpenAPI document as a schemathesis schema bound to its app."""
    app = WithLifespan(runtime, seed)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)  # starts the lifespan
    schema.config.update(headers=auth(data_dir, "admin"))
    schema.config.generation.update(max_examples=EXAMPLES, deterministic=True, database="none")

    def map_path_parameters(context, path_parameters: dict[str, Any] | None) -> dict[str, Any] | None:
        """Every other generated id (chosen by a stable hash) becomes a real one."""
        for name, value in (path_parameters or {}).items():
            choices = app.known.get(name)
            if choices:
                pick = zlib.crc32(repr(value).encode())
                if pick % 2 == 0:
                    path_parameters[name] = choices[pick // 2 % len(choices)]
        return path_parameters

    schema.hook(map_path_parameters)
    return schema


def settings_for(cls: type, tmp: Path) -> Any:
    """SQLite files under ``tmp``, or the PostgreSQL database of ``SK_FUZZ_DATABASE_URL``
    (each service in its own schema); never what ``SK_*DATABASE_URL`` say. No rate limit:
    thousands of requests from one token are the point here."""
    stores = {"database_url": DATABASE_URL, "vault_database_url": DATABASE_URL}
    stores[f"{cls.service_name}_database_url"] = DATABASE_URL or sqlite_url(tmp / f"{cls.service_name}.db")
    return cls(data_dir=tmp, rate_limit="", **stores)


@pytest.fixture(scope="module")
def lifespans() -> Iterator[None]:
    yield
    asgi.shutdown_lifespans()


def run(case) -> None:
    case.call_and_validate(checks=CHECKS)


# Intake -------------------------------------------------------------------------------


async def seed_intake(runtime: ServiceRuntime) -> Known:
    headers = auth(runtime.settings.data_dir, "admin")
    transport = httpx.ASGITransport(app=runtime.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://seed", headers=headers) as api:
        visits, questions = [], []
        for office in ("kiruna", "lulea"):
            visit = await api.post("/v1/visits", json={"office_id": office, "channel": "desk"})
            visits.append(visit.json()["visit_id"])
            question = await api.post(
                f"/v1/visits/{visits[-1]}/questions",
                json={"text": "Jag behöver ett nytt id-kort", "personal_identity_number": PIN},
            )
            questions.append(question.json()["question_id"])
        await api.post(f"/v1/visits/{visits[1]}/call", json={"desk": "D1"})
        await api.post(f"/v1/questions/{questions[1]}/resolution", json={"outcome": "answered"})
        await api.post(f"/v1/visits/{visits[1]}/end", json={})
    return {"visit_id": visits, "question_id": questions}


@pytest.fixture(scope="module")
def intake_schema(tmp_path_factory, lifespans):
    tmp = tmp_path_factory.mktemp("intake")
    return load(intake_bootstrap(settings_for(IntakeSettings, tmp)), seed_intake, tmp)


intake = schemathesis.pytest.from_fixture("intake_schema")


@intake.parametrize()
def test_intake(case):
    run(case)


# Routing ------------------------------------------------------------------------------


async def seed_routing(runtime: ServiceRuntime) -> Known:
    questions = []
    texts = ["Jag vill ansöka om id-kort", "Hur ansöker jag om bostadsbidrag?", "Hej"]
    for position, text in enumerate(texts, start=1):
        event = QuestionRecorded(
            visit_id=str(uuid.uuid4()), question_id=str(uuid.uuid4()), office_id="ostersund",
            text=text, agency=None, case_type=None, personal_identity_number=PIN,
            recorded_at=datetime.now(UTC),
        )
        envelope = EventEnvelope.wrap(event, stream_id=event.visit_id, stream_version=2)
        await runtime.consumers[0].handle(envelope, Checkpoint(topics.INTAKE, 0, position))
        questions.append(event.question_id)
    return {"question_id": questions}


@pytest.fixture(scope="module")
def routing_schema(tmp_path_factory, lifespans):
    tmp = tmp_path_factory.mktemp("routing")
    return load(routing_bootstrap(settings_for(RoutingSettings, tmp)), seed_routing, tmp)


routing = schemathesis.pytest.from_fixture("routing_schema")


@routing.parametrize()
def test_routing(case):
    run(case)


# Agency gateway -----------------------------------------------------------------------


async def seed_gateway(runtime: ServiceRuntime) -> Known:
    questions = []
    for position, agency in enumerate(("polisen", "skatteverket", "polisen"), start=1):
        event = CaseRoutedToAgency(
            visit_id=str(uuid.uuid4()), question_id=str(uuid.uuid4()), office_id="lund",
            agency=agency, case_type="pass", text="Mitt pass", personal_identity_number=PIN,
            destination="agency_system", routed_at=datetime.now(UTC),
        )
        envelope = EventEnvelope.wrap(event, stream_id=event.question_id, stream_version=1)
        await runtime.consumers[0].handle(envelope, Checkpoint(topics.ROUTING, 0, position))
        questions.append(event.question_id)
    policy = runtime.settings.retry_policy("polisen")
    await record_outcome(questions[2], Rejected("HTTP 401: bad signature"), runtime.uow_factory(), policy, lambda: 0)
    return {"question_id": questions, "agency": ["polisen", "skatteverket"]}


@pytest.fixture(scope="module")
def gateway_schema(tmp_path_factory, lifespans):
    tmp = tmp_path_factory.mktemp("gateway")
    return load(gateway_bootstrap(settings_for(GatewaySettings, tmp)), seed_gateway, tmp)


gateway = schemathesis.pytest.from_fixture("gateway_schema")


@gateway.parametrize()
def test_agency_gateway(case):
    run(case)


# Reporting ----------------------------------------------------------------------------


def reporting_story(now: datetime) -> list[tuple[str, DomainEvent]]:
    visit, question = str(uuid.uuid4()), str(uuid.uuid4())
    at = now - timedelta(hours=2)
    ids = {"visit_id": visit, "question_id": question}
    return [
        (topics.INTAKE, VisitRegistered(
            visit_id=visit, office_id="malmo", channel="kiosk", agency=None, ticket="A001",
            service_day="ignored", registered_at=at,
        )),
        (topics.INTAKE, VisitCalled(visit_id=visit, desk="1", called_at=at + timedelta(minutes=7))),
        (topics.INTAKE, QuestionRecorded(
            **ids, office_id="malmo", text="Nytt id-kort", agency=None, case_type=None,
            personal_identity_number=PIN, recorded_at=at + timedelta(minutes=8),
        )),
        (topics.ROUTING, QuestionClassified(
            **ids, office_id="malmo", level="complex", agency="skatteverket", case_type="id_kort",
            confidence=0.9, explanation="x", destination="agency_system", needs_review=False,
            model_version="rules-1", classified_at=at + timedelta(minutes=8),
        )),
        (topics.ROUTING, CaseRoutedToAgency(
            **ids, office_id="malmo", agency="skatteverket", case_type="id_kort", text="Nytt id-kort",
            personal_identity_number=PIN, destination="agency_system", routed_at=at + timedelta(minutes=8),
        )),
        (topics.GATEWAY, CaseQueuedForDelivery(
            **ids, office_id="malmo", agency="skatteverket", case_type="id_kort",
            queued_at=at + timedelta(minutes=9),
        )),
        (topics.GATEWAY, CaseForwarded(
            **ids, agency="skatteverket", agency_reference="SKV-1", attempt=1,
            forwarded_at=at + timedelta(minutes=10),
        )),
        (topics.INTAKE, VisitEnded(
            visit_id=visit, satisfaction=Satisfaction(treatment=5, time=4, got_help=True),
            ended_at=at + timedelta(minutes=20),
        )),
    ]


async def seed_reporting(runtime: ServiceRuntime) -> Known:
    positions: dict[str, int] = {}
    for topic, event in reporting_story(datetime.now(UTC)):
        positions[topic] = positions.get(topic, 0) + 1
        envelope = EventEnvelope.wrap(event, stream_id=event.visit_id, stream_version=positions[topic])
        await runtime.consumers[0].handle(envelope, Checkpoint(topic, 0, positions[topic]))
    return {"table": sorted(EXPORTABLE)}


@pytest.fixture(scope="module")
def reporting_schema(tmp_path_factory, lifespans):
    tmp = tmp_path_factory.mktemp("reporting")
    return load(reporting_bootstrap(settings_for(ReportingSettings, tmp)), seed_reporting, tmp)


reporting = schemathesis.pytest.from_fixture("reporting_schema")


@reporting.parametrize()
def test_reporting(case):
    run(case)

