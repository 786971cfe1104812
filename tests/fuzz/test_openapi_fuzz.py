"""Schemathesis against every service's OpenAPI, in process (ASGI: no server).

Each service runs on its own SQLite store under a temporary directory, with some real
data recorded first (visits, questions, decisions, a pending and a dead-lettered
delivery, reporting facts) so that part of the generated path ids reach real resources.
Every request carries an admin token (all scopes) so the fuzzing reaches the routes'
logic; schemathesis also sends cases without it (401 is documented). The checks: no 5xx,
and status code, content type, headers and body as the OpenAPI document says.

Headers are fuzzed too. The signature headers of the agencies' routes (the gateway's
status callbacks, the agency simulator's cases) are declared in the OpenAPI, so
schemathesis generates them, valid and invalid; half of the gateway's callback cases are
then signed for real, so the body reaches the handler. And one case in three is sent a
second time with one set of hostile headers (``HOSTILE``, in turn): genuine tokens whose
claims have the wrong type, malformed bearer values, signature headers with characters
``str.isdigit`` takes but ``int`` does not (``²``), non-ASCII Idempotency-Keys. The
answer must be a documented 4xx, never a 5xx.

Bounded for CI: ``SK_FUZZ_EXAMPLES`` examples per operation in the fuzzing phase
(default 20), derandomized, so a run is repeatable. ``make fuzz`` runs the long one.
"""

from __future__ import annotations

import json
import os
import time
import uuid
import zlib
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
import schemathesis
from cryptography.hazmat.primitives import serialization
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
from services.agency_simulator.app import build_simulator
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
from shared.auth import auth_dir, ensure_keys
from shared.db import sqlite_url
from shared.events import DomainEvent, EventEnvelope
from shared.runtime import ServiceRuntime
from shared.signing import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    dev_secret,
    signed_headers,
)
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
    return bind(schemathesis.openapi.from_asgi("/openapi.json", app), app, data_dir)


def bind(schema, app, data_dir: Path):
    """Tokens, bounds and real path ids for ``schema``; its data dir signs odd tokens."""
    DATA_DIRS[schema.raw_schema["info"]["title"]] = data_dir
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


# Headers ------------------------------------------------------------------------------

DATA_DIRS: dict[str, Path] = {}  # API title -> the data dir whose key signs its tokens
SIGNED_OPERATION = "/v1/agencies/{agency}/callbacks"


def odd_token(data_dir: Path, **claims: Any) -> str:
    """A genuine signature (the installation's key) over claims of the wrong type."""
    now = int(time.time())
    body = {"iss": "servicekontor", "aud": "servicekontor", "sub": "fuzz", "role": "admin",
            "iat": now, "exp": now + 600} | claims
    key = serialization.load_pem_private_key(ensure_keys(auth_dir(data_dir))[0], password=None)
    return "Bearer " + jwt.encode(body, key, algorithm="EdDSA")


def hostile(data_dir: Path, operation) -> list[dict[str, str]]:
    """Header sets that must each be refused or ignored, never answered with a 5xx: odd
    signatures where signatures are checked, odd Idempotency-Keys on every POST, odd
    tokens on every route (the operation's own sets first)."""
    now = str(int(time.time()))
    sets: list[dict[str, str]] = []
    declared = {p.get("name") for p in operation.definition.raw.get("parameters", [])}
    if TIMESTAMP_HEADER in declared:
        key = {"Idempotency-Key": "fuzz-key"}  # the simulator asks for one before the signature
        sets += [
            key | {TIMESTAMP_HEADER: "²", SIGNATURE_HEADER: "v1=00"},  # isdigit() yes, int() no
            key | {TIMESTAMP_HEADER: now, SIGNATURE_HEADER: "v1=é"},  # compare_digest refuses it
            key | {TIMESTAMP_HEADER: "١٢٣".encode().decode("latin-1"), SIGNATURE_HEADER: "v1=00"},
            key | {TIMESTAMP_HEADER: "¹" * 12, SIGNATURE_HEADER: "v1=" + "f" * 64 + ",v1=" + "é" * 64},
        ]
    if operation.method.upper() == "POST":
        sets += [{"Idempotency-Key": "ÿ" * 300}, {"Idempotency-Key": "²"}, {"Idempotency-Key": ""}]
    return sets + [
        {"Authorization": odd_token(data_dir, role=["admin"])},
        {"Authorization": odd_token(data_dir, role="agency", agency=["polisen"])},
        {"Authorization": odd_token(data_dir, sub=17, scope={"all": True})},
        {"Authorization": odd_token(data_dir, role={"admin": 1}, jti=5)},
        {"Authorization": "Bearer ²"},
        {"Authorization": "Bearer " + "A" * 9000},
        {"Authorization": "Basic ZnV6ejpmdXp6"},
    ]


HOSTILE_SENT: dict[str, int] = {}  # operation -> hostile header sets sent so far


def stable_hash(case) -> int:
    return zlib.crc32(repr((case.method, case.path, case.path_parameters, case.query, case.body)).encode())


def run(case) -> None:
    """The generated case (signed, for half of the callbacks); then the same case again
    with one set of hostile headers: every set once per operation, in turn, then one
    case in four. Odd signatures go to a real agency, so the check is reached."""
    pick = stable_hash(case)
    kwargs: dict[str, Any] = {}
    if case.operation.path == SIGNED_OPERATION and isinstance(case.body, dict) and pick % 2 == 0:
        raw = json.dumps(case.body).encode()
        agency = str((case.path_parameters or {}).get("agency", ""))
        headers = signed_headers(dev_secret(agency), int(time.time()), raw)
        kwargs = {"data": raw, "headers": {**headers, "Content-Type": "application/json"}}
    case.call_and_validate(checks=CHECKS, **kwargs)
    title = case.operation.schema.raw_schema["info"]["title"]
    sets = hostile(DATA_DIRS[title], case.operation)
    key = f"{title} {case.operation.label}"
    sent = HOSTILE_SENT.get(key, 0)
    if sent < len(sets) or pick % 4 == 0:
        HOSTILE_SENT[key] = sent + 1
        headers = sets[sent % len(sets)]
        if TIMESTAMP_HEADER in headers and case.path_parameters:
            case.path_parameters = {**case.path_parameters, "agency": "polisen"}
        case.call_and_validate(checks=CHECKS, headers=headers)


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


# Agency simulator ---------------------------------------------------------------------
# The agencies' side: the case route (its signature and Idempotency-Key headers), what the
# simulator shows and its admin routes. The failure modes the admin routes set (5xx,
# hangs) apply only to correctly signed cases, which the fuzzing never sends.


class WithKnownIds:
    """The simulator's app as it is (its lifespan makes its tables), with real path ids."""

    def __init__(self, app, known: Known) -> None:
        self.app, self.known = app, known

    async def __call__(self, scope, receive, send) -> None:
        await self.app(scope, receive, send)


@pytest.fixture(scope="module")
def simulator_schema(tmp_path_factory, lifespans):
    tmp = tmp_path_factory.mktemp("simulator")
    app = WithKnownIds(build_simulator(tmp, keys_dir=auth_dir(tmp), seed=1), {"agency": ["polisen", "skatteverket"]})
    return bind(schemathesis.openapi.from_asgi("/openapi.json", app), app, tmp)


simulator = schemathesis.pytest.from_fixture("simulator_schema")


@simulator.parametrize()
def test_agency_simulator(case):
    run(case)
