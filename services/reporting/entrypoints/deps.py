"""Dependencies the reporting routes share: the readers, the catalog and the filter."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import Depends, Query, Request
from pydantic import StringConstraints

from services.reporting.adapters.analytics import AnalyticsReader
from services.reporting.adapters.stats import StatsReader
from services.reporting.domain.stats import StatsFilter
from shared.catalog import Catalog

Code = Annotated[str, StringConstraints(pattern=r"^[a-z_]{2,40}$")]
OfficeId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{1,59}$")]
Level = Literal["general", "in_depth", "complex"]


def _extra(request: Request, name: str) -> Any:
    return request.app.state.runtime.extras[name]


def get_stats(request: Request) -> StatsReader:
    return _extra(request, "stats")


def get_analytics(request: Request) -> AnalyticsReader:
    return _extra(request, "analytics")


def get_catalog(request: Request) -> Catalog:
    return _extra(request, "catalog")


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


StatsDep = Annotated[StatsReader, Depends(get_stats)]
AnalyticsDep = Annotated[AnalyticsReader, Depends(get_analytics)]
CatalogDep = Annotated[Catalog, Depends(get_catalog)]
FilterDep = Annotated[StatsFilter, Depends(stats_filter)]
