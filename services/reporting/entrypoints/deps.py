"""Reporting's typed dependencies (``ReportingDeps``, built by ``bootstrap``) and the
FastAPI dependencies its routes share: the unit of work, the deps, the readers, the
catalog and the filter."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from fastapi import Depends, Query, Request
from pydantic import StringConstraints

from services.reporting.adapters.analytics_reader import AnalyticsReader
from services.reporting.adapters.day_stats_reader import DayStatsReader
from services.reporting.adapters.meeting_reader import SqlMeetingReader
from services.reporting.adapters.stats_reader import StatsReader
from services.reporting.adapters.steering_reader import SqlSteeringReader
from services.reporting.domain.costs import CostConfig
from services.reporting.domain.stats import StatsFilter
from services.reporting.unit_of_work import SqlReportingUnitOfWork
from shared.catalog import Catalog
from shared.offices import OfficeRegistry

Code = Annotated[str, StringConstraints(pattern=r"^[a-z_]{2,40}$")]
OfficeId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{1,59}$")]
Level = Literal["general", "in_depth", "complex"]


@dataclass(frozen=True)
class ReportingDeps:
    """What reporting's routes, workers and commands need besides the database."""

    catalog: Catalog
    offices: OfficeRegistry
    tz: ZoneInfo  # the local day a visit is counted on
    costs: CostConfig | None  # None: no cost allocation configured
    stats: StatsReader
    analytics: AnalyticsReader
    day_stats: DayStatsReader
    steering: SqlSteeringReader
    meetings: SqlMeetingReader
    # Brings the aggregates and cost tables up to the facts; returns the days it redid.
    refresh: Callable[[], Awaitable[int]]


async def get_uow(request: Request) -> SqlReportingUnitOfWork:
    """Async on purpose: a sync dependency would cost a worker-thread hop per request."""
    return request.app.state.runtime.uow_factory()


async def get_deps(request: Request) -> ReportingDeps:
    return request.app.state.runtime.deps


async def get_stats(request: Request) -> StatsReader:
    return (await get_deps(request)).stats


async def get_analytics(request: Request) -> AnalyticsReader:
    return (await get_deps(request)).analytics


async def get_day_stats(request: Request) -> DayStatsReader:
    return (await get_deps(request)).day_stats


async def get_catalog(request: Request) -> Catalog:
    return (await get_deps(request)).catalog


def stats_filter(
    day_from: Annotated[date | None, Query(alias="from", description="first day, YYYY-MM-DD")] = None,
    to: Annotated[date | None, Query(description="last day (inclusive), YYYY-MM-DD")] = None,
    office_id: Annotated[OfficeId | None, Query()] = None,
    agency: Annotated[Code | None, Query(description="agency code (catalog)")] = None,
    case_type: Annotated[Code | None, Query(description="case type code (catalog)")] = None,
    level: Annotated[Level | None, Query()] = None,
) -> StatsFilter:
    """The period (service days, inclusive), office, agency, case type and level."""
    return StatsFilter(day_from, to, office_id, agency, level, case_type)


UowDep = Annotated[SqlReportingUnitOfWork, Depends(get_uow)]
DepsDep = Annotated[ReportingDeps, Depends(get_deps)]
StatsDep = Annotated[StatsReader, Depends(get_stats)]
AnalyticsDep = Annotated[AnalyticsReader, Depends(get_analytics)]
DayStatsDep = Annotated[DayStatsReader, Depends(get_day_stats)]
CatalogDep = Annotated[Catalog, Depends(get_catalog)]
FilterDep = Annotated[StatsFilter, Depends(stats_filter)]
