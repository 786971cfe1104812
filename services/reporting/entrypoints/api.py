"""Reporting's routes: validate the query, ask the views, shape the answer."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import StringConstraints

from services.reporting import views
from services.reporting.adapters.stats import StatsReader
from services.reporting.domain.stats import StatsFilter
from services.reporting.entrypoints.schemas import (
    AgencyVisitsRow,
    CaseTypeRow,
    CaseTypeStats,
    DayVisitsRow,
    OfficeVisitsRow,
    Summary,
    VisitStats,
)
from shared.catalog import Catalog

router = APIRouter(prefix="/v1/stats", tags=["reporting"])

Code = Annotated[str, StringConstraints(pattern=r"^[a-z_]{2,40}$")]
OfficeId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{1,59}$")]
Level = Literal["general", "in_depth", "complex"]
_ROW_TYPES = {"day": DayVisitsRow, "office": OfficeVisitsRow, "agency": AgencyVisitsRow}


def get_stats(request: Request) -> StatsReader:
    return request.app.state.runtime.extras["stats"]


def get_catalog(request: Request) -> Catalog:
    return request.app.state.runtime.extras["catalog"]


StatsDep = Annotated[StatsReader, Depends(get_stats)]
CatalogDep = Annotated[Catalog, Depends(get_catalog)]
FromDay = Annotated[date | None, Query(alias="from", description="first day, YYYY-MM-DD")]
ToDay = Annotated[date | None, Query(description="last day (inclusive), YYYY-MM-DD")]
OfficeParam = Annotated[OfficeId | None, Query()]


@router.get("/visits", response_model=VisitStats)
async def visit_stats(
    stats: StatsDep,
    catalog: CatalogDep,
    day_from: FromDay = None,
    to: ToDay = None,
    office_id: OfficeParam = None,
    group_by: Literal["day", "office", "agency"] = "day",
) -> VisitStats:
    f = StatsFilter(day_from, to, office_id)
    rows = await views.visit_stats(stats, catalog, f, group_by)
    return VisitStats(rows=[_ROW_TYPES[group_by](**row) for row in rows])


@router.get("/case-types", response_model=CaseTypeStats)
async def case_type_stats(
    stats: StatsDep,
    catalog: CatalogDep,
    day_from: FromDay = None,
    to: ToDay = None,
    agency: Annotated[Code | None, Query()] = None,
    office_id: OfficeParam = None,
    level: Level | None = None,
    group_by: Annotated[
        str | None, Query(max_length=60, description="comma list of agency, case_type, level")
    ] = None,
) -> CaseTypeStats:
    f = StatsFilter(day_from, to, office_id, agency, level)
    rows = await views.case_type_stats(stats, catalog, f, group_by)
    return CaseTypeStats(rows=[CaseTypeRow(**row) for row in rows])


@router.get("/summary", response_model=Summary)
async def summary(
    stats: StatsDep,
    catalog: CatalogDep,
    day_from: FromDay = None,
    to: ToDay = None,
    office_id: OfficeParam = None,
) -> Summary:
    return Summary(**await views.summary(stats, catalog, StatsFilter(day_from, to, office_id)))
