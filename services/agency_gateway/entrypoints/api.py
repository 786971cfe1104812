"""The gateway's routes: delivery status for desks, kiosks and operators; the agencies'
state; dead letters (``dead_letters``), status callbacks (``callbacks``), meeting callbacks
and slot publications (``meetings``)."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from services.agency_gateway import views
from services.agency_gateway.adapters.tables import DeliveryRow
from services.agency_gateway.domain.model import Status
from services.agency_gateway.entrypoints import callbacks, dead_letters, meetings
from services.agency_gateway.entrypoints.deps import DepsDep, UowDep
from services.agency_gateway.entrypoints.schemas import (
    DeliveryDetail,
    DeliveryList,
    DeliveryPublic,
)
from shared.auth import Principal
from shared.security import check_own_agency, needs, require

router = APIRouter(prefix="/v1", tags=["agency_gateway"])
AgencyCode = Annotated[str | None, Query(pattern=r"^[a-z_]{2,40}$")]


@router.get("/deliveries/{question_id}", response_model=DeliveryDetail)
async def get_delivery(
    question_id: str, uow: UowDep, principal: Annotated[Principal, Depends(require("deliveries:read"))]
) -> DeliveryDetail:
    """Status, attempts, the agency's reference and reported status, and the history.
    An agency reads only its own agency's cases (403 otherwise)."""
    view = await views.delivery_view(question_id, uow)
    check_own_agency(principal, view.row.agency)
    return DeliveryDetail.model_validate(view.fields())


@router.get("/deliveries", response_model=DeliveryList)
async def list_deliveries(
    uow: UowDep,
    principal: Annotated[Principal, Depends(require("deliveries:read"))],
    status: Status | None = None,
    agency: AgencyCode = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> DeliveryList:
    """An agency's token lists its own agency's deliveries only."""
    if principal.role == "agency":
        check_own_agency(principal, agency or principal.agency or "")
        agency = principal.agency
    rows, count = await views.deliveries(uow, status, agency, limit)
    return DeliveryList(data=[to_public(row) for row in rows], count=count)


@router.get("/agencies", dependencies=needs("ops:read"))
async def agencies(deps: DepsDep) -> dict[str, Any]:
    """Per agency: its configuration (no secrets) and, live, its circuit breaker."""
    live = deps.worker.traffic.snapshot(time.monotonic())
    idle = {"breaker": "closed", "failures_in_a_row": 0, "times_opened": 0, "in_flight": 0}
    return {
        code: {**target.public(), **live.get(code, idle)}
        for code, target in deps.settings.targets().items()
    }


def to_public(row: DeliveryRow) -> DeliveryPublic:
    return DeliveryPublic.model_validate(row, from_attributes=True)


router.include_router(dead_letters.router)
router.include_router(callbacks.router)
router.include_router(meetings.router)
