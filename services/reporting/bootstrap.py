"""Wire reporting: settings, database, unit of work, the consumer of all three topics,
and the stats API. Reporting produces no topic."""

from __future__ import annotations

from functools import partial
from zoneinfo import ZoneInfo

from services.reporting.adapters.stats import SqlStats
from services.reporting.adapters.tables import REPORTING_TABLES
from services.reporting.config import ReportingSettings
from services.reporting.entrypoints.api import router
from services.reporting.handlers import event_handlers
from services.reporting.unit_of_work import SqlReportingUnitOfWork
from shared import topics
from shared.api import create_app
from shared.bus import EmbeddedBus
from shared.catalog import load_catalog
from shared.consumer import EventConsumer
from shared.db import create_engine, session_maker
from shared.runtime import ServiceRuntime
from shared.tables import SHARED_TABLES


def bootstrap(
    settings: ReportingSettings | None = None, bus: EmbeddedBus | None = None
) -> ServiceRuntime:
    """``bus`` is accepted for symmetry with the producers; the runner subscribes the
    consumer after every service is wired."""
    settings = settings or ReportingSettings()
    tz = ZoneInfo(settings.timezone)
    engine = create_engine(settings.resolved_database_url(), schema="reporting")
    sessions = session_maker(engine)
    uow_factory = partial(SqlReportingUnitOfWork, sessions)
    consumer = EventConsumer(
        name="reporting",
        topics=list(topics.ALL),
        uow_factory=uow_factory,
        handlers=event_handlers(tz),
    )
    runtime = ServiceRuntime(
        name="reporting",
        settings=settings,
        engine=engine,
        sessions=sessions,
        tables=SHARED_TABLES + REPORTING_TABLES,
        schema="reporting",
        uow_factory=uow_factory,
        topic=None,
        consumers=[consumer],
        extras={"catalog": load_catalog(), "tz": tz, "stats": SqlStats(engine)},
    )
    app = create_app(
        "servicekontor reporting", runtime.ready, max_body_bytes=settings.max_body_bytes
    )
    app.include_router(router)
    app.state.runtime = runtime
    runtime.app = app
    return runtime
