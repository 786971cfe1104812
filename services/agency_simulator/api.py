"""The simulator's routes (the agencies' side of the gateway's contract).

``POST /v1/agencies/{agency}/cases`` with ``Idempotency-Key``, signed as
docs/agency-api.md says: 201 ``{reference}`` the first time, 409 ``{reference,
duplicate: true}`` for a key seen before, 401 for a bad signature or stale timestamp,
and whatever the fault plan (``faults``, set in ``admin``) decides.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Annotated, TypeVar

from fastapi import APIRouter, Depends, Header, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from services.agency_simulator.faults import Decision
from services.agency_simulator.state import SimulatorState, get_state
from services.agency_simulator.store import SimulatorStore
from shared import signing
from shared.api import error_body
from shared.catalog import load_catalog
from shared.errors import DomainError, InvalidInput, NotFound

router = APIRouter(prefix="/v1", tags=["agency simulator"])
M = TypeVar("M", bound=BaseModel)


class MissingIdempotencyKey(DomainError):
    code = "missing_idempotency_key"  # not a 404/409/422 error: answered with 400


class CaseIn(BaseModel):
    """What the gateway sends. Only the three identifying fields are required (each
    agency gets the fields its allow-list names). Text and identity number: never kept."""

    model_config = ConfigDict(extra="allow")
    case_id: str = Field(min_length=1, max_length=200)
    agency: str
    case_type: str = Field(min_length=1, max_length=40)
    visit_id: str | None = Field(default=None, max_length=200)
    office_id: str | None = Field(default=None, max_length=200)
    text: str | None = Field(default=None, max_length=20_000)
    personal_identity_number: str | None = None
    destination: str | None = None
    routed_at: datetime | None = None


def get_store(request: Request) -> SimulatorStore:
    return request.app.state.store


StoreDep = Annotated[SimulatorStore, Depends(get_store)]
StateDep = Annotated[SimulatorState, Depends(get_state)]


def known_agency(agency: str) -> str:
    if not load_catalog().is_agency(agency):
        raise NotFound(f"no agency {agency!r}", {"known": sorted(load_catalog().agency_names)})
    return agency


def idempotency_key(
    key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> str:
    if not key or not key.strip() or len(key) > 200:
        raise MissingIdempotencyKey("an Idempotency-Key header (1-200 characters) is required")
    return key.strip()


@router.post(
    "/agencies/{agency}/cases",
    status_code=201,
    openapi_extra={
        "parameters": signing.openapi_parameters(),
        "requestBody": {"content": {"application/json": {"schema": CaseIn.model_json_schema()}}},
    },
    responses={
        201: {"description": "a new case: its reference"},
        401: {"description": "bad or missing signature, or stale timestamp",
              "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
        409: {"description": "a case with this Idempotency-Key was received before: the same reference"},
    },
)
async def receive_case(
    store: StoreDep,
    sim: StateDep,
    request: Request,
    agency: Annotated[str, Depends(known_agency)],
    key: Annotated[str, Depends(idempotency_key)],
) -> JSONResponse:
    admitted = await admit(store, sim, agency, request, CaseIn)
    if isinstance(admitted, JSONResponse):
        return admitted
    body, decision = admitted
    receipt = await store.receive(agency, key, body.case_type)
    if not receipt.duplicate and sim.callbacks is not None:
        sim.callbacks.schedule(agency, key, receipt.reference)
    await asyncio.sleep(decision.hang)  # a "timeout": the case is taken, the answer late
    if receipt.duplicate:
        return JSONResponse({"reference": receipt.reference, "duplicate": True}, 409)
    return JSONResponse({"reference": receipt.reference}, 201)


async def admit(
    store: SimulatorStore, sim: SimulatorState, agency: str, request: Request, schema: type[M]
) -> tuple[M, Decision] | JSONResponse:
    """What every request from the gateway goes through: the signature (401), the body
    (422), the agency named in it, and the fault plan (its latency, or its fault)."""
    raw = await request.body()
    await store.ensure_tables()
    if sim.require_signature and (problem := _signature_problem(sim, agency, request, raw)):
        sim.refuse(agency)
        await store.count_request(agency)
        return JSONResponse(error_body("unauthorized", "bad signature", {"reason": problem}), 401)
    try:
        body = schema.model_validate_json(raw)
    except ValidationError as error:
        raise RequestValidationError(error.errors()) from None
    if getattr(body, "agency", agency) != agency:
        raise InvalidInput(f"sent for {getattr(body, 'agency', None)!r} to {agency!r}")
    decision = sim.plan.decide(agency, time.time())
    await asyncio.sleep(decision.latency)
    if decision.action in ("error", "outage"):
        return await _fault(store, agency, decision)
    return body, decision


def _signature_problem(sim: SimulatorState, agency: str, request: Request, raw: bytes):
    return signing.check(
        sim.secret_for(agency),
        request.headers.get(signing.TIMESTAMP_HEADER),
        request.headers.get(signing.SIGNATURE_HEADER),
        raw,
        time.time(),
    )


async def _fault(store: SimulatorStore, agency: str, decision: Decision) -> JSONResponse:
    await asyncio.sleep(decision.hang)
    await store.count_request(agency)
    message = "agency system unavailable" if decision.action == "outage" else "injected fault"
    error = error_body("simulated_fault", message, {"action": decision.action})
    return JSONResponse(error, decision.status)


@router.get("/received")
async def received(store: StoreDep, sim: StateDep) -> dict:
    """Requests vs unique cases (and duplicates, faults, refusals) per agency."""
    await store.ensure_tables()
    duplicates = await store.duplicates()
    by_agency = {
        code: {"requests": 0, "unique_cases": 0, "duplicates": duplicates.get(code, 0)}
        for code in load_catalog().agency_names
    }
    for counter in await store.counters():
        entry = by_agency.setdefault(counter.agency, {"duplicates": 0})
        entry.update(requests=counter.requests, unique_cases=counter.cases)
    meetings = await store.meeting_counts()
    for code, entry in by_agency.items():
        entry["meetings"] = meetings.get(code, {})
        entry["faults"] = {k: v for k, v in sim.plan.seen.get(code, {}).items() if k != "ok"}
        entry["refused_signatures"] = sim.refused.get(code, 0)
    return {
        "total_requests": sum(a["requests"] for a in by_agency.values()),
        "unique_cases": sum(a["unique_cases"] for a in by_agency.values()),
        "duplicates": sum(a["duplicates"] for a in by_agency.values()),
        "meetings": sum(sum(m.values()) for m in meetings.values()),
        "by_agency": by_agency,
    }


@router.get("/received/{idempotency_key}")
async def received_case(idempotency_key: str, store: StoreDep) -> dict:
    await store.ensure_tables()
    case = await store.case(idempotency_key)
    if case is None:
        raise NotFound(f"no case received with Idempotency-Key {idempotency_key!r}")
    return {
        "idempotency_key": case.idempotency_key,
        "agency": case.agency,
        "case_type": case.case_type,
        "reference": case.reference,
        "received_at": _utc(case.received_at),
        "last_received_at": _utc(case.last_received_at),
        "times_received": case.times_received,
    }


def _utc(moment: datetime) -> str:
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).isoformat()
