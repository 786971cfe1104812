"""Intake's route dependencies: the unit of work and the office day, typed."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from services.intake.handlers.queue import OfficeDay
from services.intake.unit_of_work import SqlIntakeUnitOfWork


async def get_uow(request: Request) -> SqlIntakeUnitOfWork:
    """Async on purpose: a sync dependency would cost a worker-thread hop per request."""
    return request.app.state.runtime.uow_factory()


async def get_office_day(request: Request) -> OfficeDay:
    return request.app.state.runtime.extras["office_day"]


UowDep = Annotated[SqlIntakeUnitOfWork, Depends(get_uow)]
OfficeDayDep = Annotated[OfficeDay, Depends(get_office_day)]
