"""Intake's typed dependencies: ``IntakeDeps`` (built by ``bootstrap``, kept as
``runtime.deps``) is what its routes and commands need besides the database; the FastAPI
dependencies below hand it, the office day and a unit of work to the routes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from services.intake.adapters.pseudonym import Pseudonymizer
from services.intake.entrypoints.workers import NoShowWorker, RetentionWorker
from services.intake.handlers.queue import OfficeDay
from services.intake.unit_of_work import SqlIntakeUnitOfWork
from shared.catalog import Catalog
from shared.vault import Vault


@dataclass(frozen=True)
class IntakeDeps:
    catalog: Catalog
    vault: Vault  # seals identity numbers; erasure destroys a visit's key in it
    pseudonyms: Pseudonymizer  # the person pseudonym beside a sealed identity number
    office_day: OfficeDay  # the office registry, the queue board and its feed
    retention: RetentionWorker | None = None  # only with ``SK_RETENTION_DAYS``
    no_shows: NoShowWorker | None = None  # marks bookings nobody checked in for


async def get_uow(request: Request) -> SqlIntakeUnitOfWork:
    """Async on purpose: a sync dependency would cost a worker-thread hop per request."""
    return request.app.state.runtime.uow_factory()


async def get_deps(request: Request) -> IntakeDeps:
    return request.app.state.runtime.deps


async def get_office_day(request: Request) -> OfficeDay:
    return request.app.state.runtime.deps.office_day


UowDep = Annotated[SqlIntakeUnitOfWork, Depends(get_uow)]
DepsDep = Annotated[IntakeDeps, Depends(get_deps)]
OfficeDayDep = Annotated[OfficeDay, Depends(get_office_day)]
