"""Wire reporting: its store, the consumer of all three topics, the refresher that keeps
aggregates and cost tables in step, the stats API and the dashboard. Reporting produces
no topic."""

from __future__ import annotations

from functools import partial
from zoneinfo import ZoneInfo

from services.reporting.adapters.analytics_reader import SqlAnalytics
from services.reporting.adapters.bi_tables import REPORTING_TABLES
from services.reporting.adapters.cost_config import costs_file, load_cost_config
from services.reporting.adapters.day_stats_reader import SqlDayStats
from services.reporting.adapters.meeting_reader import SqlMeetingReader
from services.reporting.adapters.stats_reader import SqlStats
from services.reporting.adapters.steering_reader import SqlSteeringReader
from services.reporting.adapters.store import init_store, refresh
from services.reporting.config import ReportingSettings
from services.reporting.entrypoints.api import router
from services.reporting.entrypoints.consumers import build_consumers
from services.reporting.entrypoints.deps import ReportingDeps
from services.reporting.entrypoints.workers import refresh_loop
from services.reporting.unit_of_work import SqlReportingUnitOfWork
from shared.bootstrap import build_runtime
from shared.bus import Bus
from shared.catalog import load_catalog
from shared.db import is_sqlite
from shared.offices import load_offices
from shared.runtime import ServiceRuntime


def bootstrap(
    settings: ReportingSettings | None = None, bus: Bus | None = None
) -> ServiceRuntime[ReportingDeps]:
    settings = settings or ReportingSettings()
    tz = ZoneInfo(settings.timezone)
    catalog, offices = load_catalog(), load_offices()
    embedded = is_sqlite(settings.resolved_database_url())
    costs = load_cost_config(
        costs_file(settings.reporting_costs_file, settings.reporting_shipped_costs, embedded), catalog
    )

    runtime = build_runtime(
        "reporting",
        settings,
        bus,
        tables=REPORTING_TABLES,
        uow_class=SqlReportingUnitOfWork,
        router=router,
        consumers=partial(build_consumers, tz=tz),
    )
    # The readers and the refresher need the engine build_runtime made.
    runtime.deps = ReportingDeps(
        catalog=catalog,
        offices=offices,
        tz=tz,
        costs=costs,
        stats=SqlStats(runtime.engine),
        analytics=SqlAnalytics(runtime.engine),
        day_stats=SqlDayStats(runtime.engine),
        steering=SqlSteeringReader(runtime.engine),
        meetings=SqlMeetingReader(runtime.engine),
        refresh=partial(refresh, runtime.engine, costs),
    )
    # The store has views and catalog dimensions beside its tables: create them too.
    runtime.init_db = partial(  # type: ignore[method-assign]
        init_store, runtime.init_db, runtime.engine, runtime.tables, catalog, costs
    )
    runtime.workers.append(partial(refresh_loop, runtime.deps.refresh, settings.reporting_refresh_seconds))
    return runtime
