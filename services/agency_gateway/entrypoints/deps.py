"""Dependencies the gateway's routes share."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from services.agency_gateway.config import GatewaySettings
from services.agency_gateway.unit_of_work import GatewayUnitOfWork


def get_uow(request: Request) -> GatewayUnitOfWork:
    return request.app.state.runtime.uow_factory()


def get_settings(request: Request) -> GatewaySettings:
    return request.app.state.runtime.extras["settings"]


UowDep = Annotated[GatewayUnitOfWork, Depends(get_uow)]
SettingsDep = Annotated[GatewaySettings, Depends(get_settings)]
