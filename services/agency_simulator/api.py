"""The simulator's routes (the agencies' side of the gateway's contract).

``POST /v1/agencies/{agency}/cases`` with ``Idempotency-Key``: 201 ``{reference}`` the
first time, 409 ``{reference, duplicate: true}`` for a key seen before. Faults can be
injected per agency (``POST /v1/agencies/{agency}/faults``) to show retries in the demo
and the tests; they live in memory only.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from services.agency_simulator.store import SimulatorStore
from shared.catalog import load_catalog
from shared.errors import DomainError, InvalidInput, NotFound

router = APIRouter(prefix="/v1", tags=["agency simulator"])


class MissingIdempotencyKey(DomainError):
    code = "missing_idempotency_key"  # not a 404/409/422 error: answered with 400


class CaseIn(BaseModel):
    """What the gateway sends. Text and identity number are accepted, never kept."""

    model_config = ConfigDict(extra="allow")
    case_id: str = Field(min_length=1, max_length=200)
    visit_id: str = Field(min_length=1, max_length=200)
    office_id: str = Field(min_length=1, max_length=200)
    agency: str
    case_type: str = Field(min_length=1, max_length=40)
    text: str = Field(max_length=20_000)
    personal_identity_number: str | None = None
    destination: str | None = None
    routed_at: datetime | None = None


class FaultIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: int = Field(ge=400, le=599)
    count: int = Field(ge=1, le=10_000)


def get_store(request: Request) -> SimulatorStore:
    return request.app.state.store


StoreDep = Annotated[SimulatorStore, Depends(get_store)]


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


@router.post("/agencies/{agency}/cases", status_code=201)
async def receive_case(
    store: StoreDep,
    request: Request,
    agency: Annotated[str, Depends(known_agency)],
    key: Annotated[str, Depends(idempotency_key)],
    body: CaseIn,
) -> JSONResponse:
    if body.agency != agency:
        raise InvalidInput(f"case for {body.agency!r} sent to {agency!r}")
    await store.ensure_tables()
    faults: dict[str, list[int]] = request.app.state.faults
    if faults.get(agency, [0, 0])[1] > 0:
        faults[agency][1] -= 1
        await store.count_request(agency)
        error = {"code": "simulated_fault", "message": "injected fault", "details": None}
        return JSONResponse({"error": error}, faults[agency][0])
    receipt = await store.receive(agency, key, body.case_type)
    if receipt.duplicate:
        return JSONResponse({"reference": receipt.reference, "duplicate": True}, 409)
    return JSONResponse({"reference": receipt.reference}, 201)


@router.post("/agencies/{agency}/faults")
async def inject_fault(
    agency: Annotated[str, Depends(known_agency)], body: FaultIn, request: Request
) -> dict[str, int | str]:
    """The next ``count`` cases to this agency are answered with ``status``."""
    request.app.state.faults[agency] = [body.status, body.count]
    return {"agency": agency, "status": body.status, "count": body.count}


@router.get("/received")
async def received(store: StoreDep) -> dict:
    await store.ensure_tables()
    by_agency = {code: {"requests": 0, "unique_cases": 0} for code in load_catalog().agency_names}
    for counter in await store.counters():
        by_agency[counter.agency] = {"requests": counter.requests, "unique_cases": counter.cases}
    return {
        "total_requests": sum(a["requests"] for a in by_agency.values()),
        "unique_cases": sum(a["unique_cases"] for a in by_agency.values()),
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
