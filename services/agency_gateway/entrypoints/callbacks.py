"""Status callbacks from the agencies: a bearer token of that agency (role ``agency``,
its own agency only: 403 otherwise), and the body signed with the agency's secret, refused
(401) when the signature is wrong or the timestamp stale, applied at most once per
``callback_id``. A refusal is logged with the agency, the reason and the body's size,
never the body."""

from __future__ import annotations

import time
from typing import Annotated

import structlog
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from services.agency_gateway import handlers
from services.agency_gateway.domain.commands import RecordAgencyUpdate
from services.agency_gateway.entrypoints.deps import SettingsDep, UowDep
from services.agency_gateway.entrypoints.schemas import CallbackAccepted, CallbackIn
from shared import signing
from shared.api import error_body
from shared.auth import Principal
from shared.catalog import load_catalog
from shared.errors import NotFound
from shared.security import check_own_agency, require

router = APIRouter(tags=["agency callbacks"])
log = structlog.get_logger(__name__)


@router.post(
    "/agencies/{agency}/callbacks",
    response_model=CallbackAccepted,
    openapi_extra={
        "parameters": signing.openapi_parameters(),
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": CallbackIn.model_json_schema()}},
        },
    },
    responses={401: {"description": "no valid token, bad signature or stale timestamp"}},
)
async def status_callback(
    agency: str,
    request: Request,
    uow: UowDep,
    settings: SettingsDep,
    principal: Annotated[Principal, Depends(require("callbacks:write"))],
) -> CallbackAccepted | JSONResponse:
    check_own_agency(principal, agency)
    if not load_catalog().is_agency(agency):
        raise NotFound(f"no agency {agency!r}")
    body = await request.body()
    problem = signing.check(
        settings.target(agency).secret,
        request.headers.get(signing.TIMESTAMP_HEADER),
        request.headers.get(signing.SIGNATURE_HEADER),
        body,
        time.time(),
        settings.agency_callback_tolerance_seconds,
    )
    if problem:
        log.warning(
            "callback_refused",
            agency=agency,
            reason=problem,
            body_bytes=len(body),
            client=request.client.host if request.client else None,
        )
        message = "the callback's signature or timestamp is not valid"
        return JSONResponse(error_body("unauthorized", message, {"reason": problem}), 401)
    try:
        callback = CallbackIn.model_validate_json(body)
    except ValidationError as error:
        details = [
            {"location": list(e["loc"]), "problem": e["msg"], "type": e["type"]}
            for e in error.errors()
        ]
        return JSONResponse(error_body("validation_error", "the callback is not valid", details), 422)
    applied = await handlers.record_agency_update(
        RecordAgencyUpdate(
            agency=agency,
            callback_id=callback.callback_id,
            case_id=callback.case_id,
            status=callback.status,
            reference=callback.reference,
            note=callback.note,
            occurred_at=callback.occurred_at,
        ),
        uow,
    )
    return CallbackAccepted(accepted=True, duplicate=not applied)
