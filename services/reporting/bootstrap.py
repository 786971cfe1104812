"""Wire reporting: database, the consumer of all three topics, and the stats API.
Reporting produces no topic."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from services.reporting.adapters.stats import SqlStats
from services.reporting.adapters.tables import REPORTING_TABLES
from services.reporting.config import ReportingSettings
from services.reporting.entrypoints.api import router
from services.reporting.handlers import event_handlers
from services.reporting.unit_of_work import SqlReportingUnitOfWork
from shared import topics
from shared.bootstrap import build_runtime
from shared.bus import Bus
from shared.catalog import load_catalog
from shared.consumer import EventConsumer
from shared.runtime import ServiceRuntime


def bootstrap(settings: ReportingSettings | None = None, bus: Bus | None = None) -> ServiceRuntime:
    settings = settings or ReportingSettings()
    tz = ZoneInfo(settings.timezone)

    def consumers(uow_factory) -> list[EventConsumer]:
        return [EventConsumer("reporting", list(topics.ALL), uow_factory, event_handlers(tz))]

    runtime = build_runtime(
        "reporting",
        settings,
        bus,
        tables=REPORTING_TABLES,
        uow_class=SqlReportingUnitOfWork,
        router=router,
        consumers=consumers,
        extras={"catalog": load_catalog(), "tz": tz},
    )
    runtime.extras["stats"] = SqlStats(runtime.engine)
    return runtime
