"""Status callbacks from the agencies: a bearer token of that agency (role ``agency``,
its own agency only: 403 otherwise), and the body signed with the agency's secret, refused
(401) when the signature is wrong or the timestamp stale, applied at most once per
``callback_id``. A refusal is logged with the agency, the reason and the body's size,
never the body."""

from __future__ import annotations

import time
from typing import Annotated, TypeVar

import structlog
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError

from services.agency_gateway import handlers
from services.agency_gateway.config import GatewaySettings
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


def signed_openapi(schema: type[BaseModel]) -> dict:
    """The OpenAPI of a signed agency request: the signature headers and the JSON body
    (the route reads the raw body itself, to check the signature before parsing)."""
    return {
        "parameters": signing.openapi_parameters(),
        "requestBody": {"required": True, "content": {"application/json": {"schema": schema.model_json_schema()}}},
    }


async def own_agency(
    agency: str, principal: Annotated[Principal, Depends(require("callbacks:write"))]
) -> str:
    """The agency in the path, if the token is that agency's (403 otherwise)."""
    check_own_agency(principal, agency)
    return agency


OwnAgency = Annotated[str, Depends(own_agency)]


@router.post(
    "/agencies/{agency}/callbacks",
    response_model=CallbackAccepted,
    openapi_extra=signed_openapi(CallbackIn),
    responses={401: {"description": "no valid token, bad signature or stale timestamp"}},
)
async def status_callback(
    agency: OwnAgency, request: Request, uow: UowDep, settings: SettingsDep
) -> CallbackAccepted | JSONResponse:
    callback = await signed(agency, request, settings, CallbackIn, "the callback is not valid")
    if isinstance(callback, JSONResponse):
        return callback
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


M = TypeVar("M", bound=BaseModel)


async def signed(
    agency: str, request: Request, settings: GatewaySettings, schema: type[M], message: str
) -> M | JSONResponse:
    """The body as ``schema``, if signed by ``agency`` (401 otherwise) and valid (422)."""
    body = await request.body()
    if refused := signature_refused(agency, request, settings, body):
        return refused
    try:
        return schema.model_validate_json(body)
    except ValidationError as error:
        return invalid(error, message)


def signature_refused(agency: str, request: Request, settings: GatewaySettings, body: bytes) -> JSONResponse | None:
    """None when ``body`` is signed with the (known) agency's secret within the timestamp
    window; else the 401 answer, logged without the body."""
    if not load_catalog().is_agency(agency):
        raise NotFound(f"no agency {agency!r}")
    problem = signing.check(
        settings.target(agency).secret,
        request.headers.get(signing.TIMESTAMP_HEADER),
        request.headers.get(signing.SIGNATURE_HEADER),
        body,
        time.time(),
        settings.agency_callback_tolerance_seconds,
    )
    if not problem:
        return None
    log.warning(
        "callback_refused",
        agency=agency,
        reason=problem,
        body_bytes=len(body),
        client=request.client.host if request.client else None,
    )
    message = "the callback's signature or timestamp is not valid"
    return JSONResponse(error_body("unauthorized", message, {"reason": problem}), 401)


def invalid(error: ValidationError, message: str) -> JSONResponse:
    details = [{"location": list(e["loc"]), "problem": e["msg"], "type": e["type"]} for e in error.errors()]
    return JSONResponse(error_body("validation_error", message, details), 422)
