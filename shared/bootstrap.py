"""What every service's ``bootstrap`` does the same way: engine and sessions for its own
database (own schema on PostgreSQL), a unit-of-work factory whose commits wake the bus,
its topic registered as a producer, its consumers, and the FastAPI app with the shared
error handling, ``/health`` and ``/ready``."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Table, exc

from shared.api import create_app, error_body
from shared.bus import Bus
from shared.consumer import EventConsumer
from shared.db import create_engine, is_transient, session_maker
from shared.runtime import ServiceRuntime
from shared.security import unprotected_routes
from shared.tables import SHARED_TABLES

log = structlog.get_logger(__name__)


async def _database_error(_request: Request, error: Exception) -> JSONResponse:
    """An outage is 503 (try again), not a server fault; anything else stays a 500."""
    if is_transient(error):
        body = error_body("database_unavailable", "the database cannot be reached; try again")
        return JSONResponse(body, 503, headers={"Retry-After": "2"})
    log.exception("database_error", error_type=type(error).__name__)
    return JSONResponse(error_body("internal_error", "internal error"), 500)


def build_runtime(
    name: str,
    settings: Any,
    bus: Bus | None,
    *,
    tables: list[Table],
    uow_class: type,
    router: APIRouter,
    topic: str | None = None,
    consumers: Callable[[Callable[[], Any]], list[EventConsumer]] = lambda _factory: [],
    commit_hooks: list[Callable[[], Any]] = (),
) -> ServiceRuntime:
    """``commit_hooks`` run after every commit of the service's units of work (the bus's
    wake-up is one; a service may add its own, e.g. intake's queue board)."""
    engine = create_engine(settings.resolved_database_url(), schema=name)
    sessions = session_maker(engine)
    hooks = [bus.notifier(topic)] if bus and topic else []
    hooks.extend(commit_hooks)
    uow_factory = partial(uow_class, sessions, hooks)
    runtime = ServiceRuntime(
        name=name,
        settings=settings,
        engine=engine,
        sessions=sessions,
        tables=SHARED_TABLES + tables,
        schema=name,
        uow_factory=uow_factory,
        topic=topic,
        consumers=consumers(uow_factory),
        bus=bus,
    )
    if bus and topic:
        bus.register_producer(topic, runtime)
    app = create_app(
        f"servicekontor {name}", runtime.ready, max_body_bytes=settings.max_body_bytes, security=settings
    )
    app.add_exception_handler(exc.SQLAlchemyError, _database_error)
    app.add_exception_handler(OSError, _database_error)  # e.g. connection refused by asyncpg
    app.include_router(router)
    if open_routes := unprotected_routes(app):
        raise RuntimeError(f"{name}: routes without a required scope: {open_routes}")
    app.state.runtime = runtime
    runtime.app = app
    return runtime
