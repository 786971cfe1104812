"""Wire intake: settings, database, unit of work, bus hook, API."""

from __future__ import annotations

from functools import partial
from zoneinfo import ZoneInfo

from shared import topics
from shared.api import create_app
from shared.bus import EmbeddedBus
from shared.catalog import load_catalog
from shared.db import create_engine, session_maker
from shared.runtime import ServiceRuntime
from shared.tables import SHARED_TABLES

from services.intake.adapters.tables import INTAKE_TABLES
from services.intake.config import IntakeSettings
from services.intake.entrypoints.api import router
from services.intake.unit_of_work import SqlIntakeUnitOfWork


def bootstrap(settings: IntakeSettings | None = None, bus: EmbeddedBus | None = None) -> ServiceRuntime:
    settings = settings or IntakeSettings()
    engine = create_engine(settings.resolved_database_url(), schema="intake")
    sessions = session_maker(engine)
    hooks = [bus.notifier(topics.INTAKE)] if bus else []
    runtime = ServiceRuntime(
        name="intake",
        settings=settings,
        engine=engine,
        sessions=sessions,
        tables=SHARED_TABLES + INTAKE_TABLES,
        schema="intake",
        uow_factory=partial(SqlIntakeUnitOfWork, sessions, hooks),
        topic=topics.INTAKE,
        extras={"catalog": load_catalog(), "tz": ZoneInfo(settings.timezone)},
    )
    if bus:
        bus.register_producer(topics.INTAKE, runtime)
    app = create_app("servicekontor intake", runtime.ready, max_body_bytes=settings.max_body_bytes)
    app.include_router(router)
    app.state.runtime = runtime
    runtime.app = app
    return runtime
