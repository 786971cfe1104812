"""The gateway's routes: delivery status for desks, kiosks and operators."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from services.agency_gateway import views
from services.agency_gateway.adapters.tables import DeliveryRow
from services.agency_gateway.domain.model import Status
from services.agency_gateway.entrypoints.schemas import DeliveryList, DeliveryPublic
from services.agency_gateway.unit_of_work import GatewayUnitOfWork

router = APIRouter(prefix="/v1", tags=["agency_gateway"])


def get_uow(request: Request) -> GatewayUnitOfWork:
    return request.app.state.runtime.uow_factory()


UowDep = Annotated[GatewayUnitOfWork, Depends(get_uow)]
AgencyCode = Annotated[str | None, Query(pattern=r"^[a-z_]{2,40}$")]


@router.get("/deliveries/{question_id}", response_model=DeliveryPublic)
async def get_delivery(question_id: str, uow: UowDep) -> DeliveryPublic:
    return to_public(await views.delivery(question_id, uow))


@router.get("/deliveries", response_model=DeliveryList)
async def list_deliveries(
    uow: UowDep,
    status: Status | None = None,
    agency: AgencyCode = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> DeliveryList:
    rows, count = await views.deliveries(uow, status, agency, limit)
    return DeliveryList(data=[to_public(row) for row in rows], count=count)


def to_public(row: DeliveryRow) -> DeliveryPublic:
    return DeliveryPublic.model_validate(row, from_attributes=True)
