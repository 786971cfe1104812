"""The simulator's meeting routes (the agencies' side of docs/agency-api.md, Meetings):
``POST /v1/agencies/{agency}/meetings`` (Idempotency-Key: the booking id; 201, a repeat
409 with the same reference), ``.../meetings/{booking_id}/move`` and ``.../cancellation``
(200; a repeat of a key changes nothing; 404 for a meeting it does not have, which the
gateway retries: the meeting may still be on its way). Signed, and subject to the fault
plan, as cases are.

Once a meeting is taken it sends ``accepted``, and then moves (a day later, same time) or
cancels a deterministic share of them itself (``SK_SIM_MEETING_MOVE_RATE`` /
``SK_SIM_MEETING_CANCEL_RATE``; the booking id decides, so a rerun decides the same).
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from services.agency_simulator.api import StateDep, StoreDep, admit, idempotency_key, known_agency
from services.agency_simulator.callbacks import Change
from services.agency_simulator.state import SimulatorState
from services.agency_simulator.store import SimulatorStore
from shared import signing
from shared.api import error_body

router = APIRouter(prefix="/v1/agencies/{agency}/meetings", tags=["agency simulator"])
AgencyDep = Annotated[str, Depends(known_agency)]
KeyDep = Annotated[str, Depends(idempotency_key)]


class MeetingChangeIn(BaseModel):
    """What every meeting request names; the rest of the (minimised) body is allowed."""

    model_config = ConfigDict(extra="allow")
    meeting_id: str = Field(min_length=1, max_length=200)
    agency: str


class MeetingIn(MeetingChangeIn):
    case_type: str = Field(min_length=1, max_length=40)
    kind: Literal["video", "in_person"]
    office_id: str = Field(min_length=1, max_length=60)
    slot_start: datetime
    length_minutes: int = Field(ge=1, le=24 * 60)


class MeetingMoveIn(MeetingChangeIn):
    slot_start: datetime


def agency_change(booking_id: str, move_rate: float, cancel_rate: float) -> Literal["moved", "cancelled"] | None:
    """What the agency itself does with this meeting: the booking id's hash, as a
    fraction of one, against the rates (cancelled first, then moved)."""
    draw = int(hashlib.sha256(booking_id.encode()).hexdigest()[:8], 16) / 2**32
    if draw < cancel_rate:
        return "cancelled"
    if draw < cancel_rate + move_rate:
        return "moved"
    return None


def _documented(schema: type[BaseModel], answers: dict[int, str]) -> dict:
    """The route's signed body and its answers, as the case route documents them."""
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    responses = {401: "bad or missing signature, or stale timestamp", **answers}
    return {
        "openapi_extra": {
            "parameters": signing.openapi_parameters(),
            "requestBody": {"content": {"application/json": {"schema": schema.model_json_schema()}}},
        },
        # 409 answers the first reference (``{reference, duplicate}``), not an error body.
        "responses": {code: {"description": text, **({"content": error} if code != 409 else {})}
                      for code, text in responses.items()},
    }


@router.post("", status_code=201, **_documented(MeetingIn, {409: "this Idempotency-Key was taken before"}))
async def receive_meeting(store: StoreDep, sim: StateDep, request: Request, agency: AgencyDep, key: KeyDep) -> JSONResponse:
    admitted = await admit(store, sim, agency, request, MeetingIn)
    if isinstance(admitted, JSONResponse):
        return admitted
    meeting, _ = admitted
    receipt = await store.receive_meeting(agency, key, meeting.case_type, meeting.slot_start)
    if receipt.duplicate:
        return JSONResponse({"reference": receipt.reference, "duplicate": True}, 409)
    if sim.callbacks is not None:
        then = _own_change(store, sim, agency, key, meeting.slot_start)
        sim.callbacks.schedule_meeting(agency, key, receipt.reference, then)
    return JSONResponse({"reference": receipt.reference}, 201)


def _own_change(
    store: SimulatorStore, sim: SimulatorState, agency: str, booking_id: str, slot_start: datetime
) -> Change | None:
    decided = agency_change(booking_id, sim.meeting_move_rate, sim.meeting_cancel_rate)
    if decided is None:
        return None
    new_start = slot_start + timedelta(days=1) if decided == "moved" else None
    change = "move" if decided == "moved" else "cancellation"

    async def apply() -> object:
        return await store.change_meeting(agency, booking_id, f"agency:{booking_id}", change, new_start)

    return Change(decided, new_start, apply)


@router.post("/{booking_id}/move", **_documented(MeetingMoveIn, {404: "no such meeting of this agency"}))
async def move_meeting(
    booking_id: str, store: StoreDep, sim: StateDep, request: Request, agency: AgencyDep, key: KeyDep
) -> JSONResponse:
    return await _change(store, sim, request, agency, booking_id, key, "move")


@router.post("/{booking_id}/cancellation", **_documented(MeetingChangeIn, {404: "no such meeting of this agency"}))
async def cancel_meeting(
    booking_id: str, store: StoreDep, sim: StateDep, request: Request, agency: AgencyDep, key: KeyDep
) -> JSONResponse:
    return await _change(store, sim, request, agency, booking_id, key, "cancellation")


async def _change(
    store: SimulatorStore, sim: SimulatorState, request: Request, agency: str, booking_id: str, key: str, change: str
) -> JSONResponse:
    schema = MeetingMoveIn if change == "move" else MeetingChangeIn
    admitted = await admit(store, sim, agency, request, schema)
    if isinstance(admitted, JSONResponse):
        return admitted
    body, _ = admitted
    meeting = await store.change_meeting(agency, booking_id, key, change, getattr(body, "slot_start", None))
    if meeting is None:
        return JSONResponse(error_body("not_found", f"no meeting {booking_id!r} of {agency!r}"), 404)
    return JSONResponse({"reference": meeting.reference, "status": meeting.status}, 200)
