"""The gateway's typed dependencies (built by ``bootstrap``, kept in ``runtime.deps``) and
the FastAPI dependencies its routes share."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import httpx
from fastapi import Depends, Request

from services.agency_gateway.config import GatewaySettings
from services.agency_gateway.entrypoints.workers import DeliveryWorker
from services.agency_gateway.unit_of_work import GatewayUnitOfWork


@dataclass(frozen=True)
class GatewayDeps:
    """``http_client`` is the one client every call to an agency shares (closed with the
    runtime); ``worker`` is the delivery worker the routes wake and read live state from."""

    settings: GatewaySettings
    worker: DeliveryWorker
    http_client: httpx.AsyncClient


async def get_uow(request: Request) -> GatewayUnitOfWork:
    """Async on purpose: a sync dependency would cost a worker-thread hop per request."""
    return request.app.state.runtime.uow_factory()


async def get_deps(request: Request) -> GatewayDeps:
    return request.app.state.runtime.deps


async def get_settings(request: Request) -> GatewaySettings:
    return request.app.state.runtime.deps.settings


UowDep = Annotated[GatewayUnitOfWork, Depends(get_uow)]
DepsDep = Annotated[GatewayDeps, Depends(get_deps)]
SettingsDep = Annotated[GatewaySettings, Depends(get_settings)]
