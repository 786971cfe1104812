"""The agencies' side of meetings (issue 16, docs/agency-api.md): meeting callbacks
(accepted, moved, cancelled) and slot publications. Both are signed like status callbacks
(``callbacks.signature_refused``: 401), by a token of that agency (403 for another
agency's), validated (422) and recorded once."""

from __future__ import annotations

import json
import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from services.agency_gateway import handlers
from services.agency_gateway.domain.commands import PublishAgencySlots, RecordMeetingUpdate
from services.agency_gateway.entrypoints.callbacks import OwnAgency, signed, signed_openapi
from services.agency_gateway.entrypoints.deps import SettingsDep, UowDep
from services.agency_gateway.entrypoints.schemas import (
    CallbackAccepted,
    MeetingCallbackIn,
    SlotsAccepted,
    SlotsIn,
)
from shared import offices
from shared.auth import Principal
from shared.catalog import load_catalog
from shared.errors import InvalidInput
from shared.security import Forbidden, check_own_agency, require

router = APIRouter(tags=["agency meetings"])


@router.post(
    "/agencies/{agency}/meeting-callbacks",
    response_model=CallbackAccepted,
    openapi_extra=signed_openapi(MeetingCallbackIn),
    responses={401: {"description": "no valid token, bad signature or stale timestamp"}},
)
async def meeting_callback(
    agency: OwnAgency, request: Request, uow: UowDep, settings: SettingsDep
) -> CallbackAccepted | JSONResponse:
    """The agency accepted, moved or cancelled a meeting: ``AgencyMeetingUpdated``."""
    callback = await signed(agency, request, settings, MeetingCallbackIn, "the meeting callback is not valid")
    if isinstance(callback, JSONResponse):
        return callback
    command = RecordMeetingUpdate(agency=agency, **callback.model_dump())
    applied = await handlers.record_meeting_update(command, uow)
    return CallbackAccepted(accepted=True, duplicate=not applied)


@router.post(
    "/agency/slots",
    status_code=201,
    response_model=SlotsAccepted,
    openapi_extra=signed_openapi(SlotsIn),
    responses={
        200: {"description": "this publication_id was published before: nothing changed"},
        401: {"description": "no valid token, bad signature or stale timestamp"},
        403: {"description": "an agency's token, and slots of another agency"},
    },
)
async def publish_slots(
    request: Request,
    uow: UowDep,
    settings: SettingsDep,
    principal: Annotated[Principal, Depends(require("slots:publish"))],
) -> SlotsAccepted | JSONResponse:
    """An agency publishes its own slots: ``AgencySlotsPublished`` (intake adds them to
    the offices' calendars). Signed with the secret of the token's agency; another role's
    token (an operator's) needs the body signed with the secret of the agency it names."""
    signer = principal.agency if principal.role == "agency" else await _named_agency(request)
    if signer is None:
        raise InvalidInput("agency: not one of the catalog's agencies", {"known": sorted(load_catalog().agency_names)})
    slots = await signed(signer, request, settings, SlotsIn, "the slots are not valid")
    if isinstance(slots, JSONResponse):
        return slots
    if principal.role == "agency":
        check_own_agency(principal, slots.agency)
    elif slots.agency != signer:  # cannot differ: the same body; said for the reader
        raise Forbidden("slots signed for another agency")
    command = _command(slots)
    if not await handlers.publish_slots(command, uow):
        answer = SlotsAccepted(publication_id=command.publication_id, slots=_count(command), duplicate=True)
        return JSONResponse(answer.model_dump(), 200)
    return SlotsAccepted(publication_id=command.publication_id, slots=_count(command))


async def _named_agency(request: Request) -> str | None:
    """The agency a (not yet verified) body names, if it is one of the catalog's."""
    try:
        named = json.loads(await request.body()).get("agency")
    except (ValueError, AttributeError):
        return None
    return named if isinstance(named, str) and load_catalog().is_agency(named) else None


def _command(slots: SlotsIn) -> PublishAgencySlots:
    """Known case types of the agency and known offices only (422 otherwise)."""
    catalog = load_catalog()
    unknown_types = sorted({t for t in slots.case_types if not catalog.is_case_type(slots.agency, t)})
    unknown_offices = sorted({o for o in slots.office_ids if offices.get(o) is None})
    if unknown_types or unknown_offices:
        raise InvalidInput(
            "unknown case types or offices", {"case_types": unknown_types, "office_ids": unknown_offices}
        )
    return PublishAgencySlots(
        publication_id=slots.publication_id or str(uuid.uuid4()),
        agency=slots.agency,
        case_types=tuple(dict.fromkeys(slots.case_types)),
        kind=slots.kind,
        office_ids=tuple(dict.fromkeys(slots.office_ids)),
        starts=tuple(sorted(set(slots.starts))),
        length_minutes=slots.length_minutes,
    )


def _count(command: PublishAgencySlots) -> int:
    return len(command.starts) * len(command.office_ids)
