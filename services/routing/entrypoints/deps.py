"""Routing's typed dependencies: ``RoutingDeps`` (built by ``bootstrap``, kept as
``runtime.deps``) is what its routes, consumers and commands need besides the database;
the FastAPI dependencies below hand it and a unit of work to the routes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from services.routing.domain.classifier import Classifier
from services.routing.domain.destination import Router
from services.routing.unit_of_work import SqlRoutingUnitOfWork
from shared.catalog import Catalog


@dataclass(frozen=True)
class RoutingDeps:
    catalog: Catalog  # checks an override's agency and case type
    classifier: Classifier  # decides recorded questions (the consumer)
    router: Router  # an override's destination, from the office registry


async def get_uow(request: Request) -> SqlRoutingUnitOfWork:
    """Async on purpose: a sync dependency would cost a worker-thread hop per request."""
    return request.app.state.runtime.uow_factory()


async def get_deps(request: Request) -> RoutingDeps:
    return request.app.state.runtime.deps


UowDep = Annotated[SqlRoutingUnitOfWork, Depends(get_uow)]
DepsDep = Annotated[RoutingDeps, Depends(get_deps)]
