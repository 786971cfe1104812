"""Reporting's contract routes (docs/reporting.md): validate the query, ask the views,
shape the answer. Every filter is optional; without the new ones (agency, case type,
level on visits and summary) the answers are what they always were."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from services.reporting import views
from services.reporting.entrypoints.deps import CatalogDep, FilterDep, StatsDep
from services.reporting.entrypoints.schemas import (
    AgencyVisitsRow,
    CaseTypeRow,
    CaseTypeStats,
    DayVisitsRow,
    OfficeVisitsRow,
    Summary,
    VisitStats,
)
from shared.security import needs

router = APIRouter(prefix="/v1/stats", tags=["reporting"], dependencies=needs("stats:read"))
_ROW_TYPES = {"day": DayVisitsRow, "office": OfficeVisitsRow, "agency": AgencyVisitsRow}


@router.get("/visits", response_model=VisitStats)
async def visit_stats(
    stats: StatsDep,
    catalog: CatalogDep,
    f: FilterDep,
    group_by: Literal["day", "office", "agency"] = "day",
) -> VisitStats:
    """Visits (with an agency, case type or level: visits with such a question)."""
    rows = await views.visit_stats(stats, catalog, f, group_by)
    return VisitStats(rows=[_ROW_TYPES[group_by](**row) for row in rows])


@router.get("/case-types", response_model=CaseTypeStats)
async def case_type_stats(
    stats: StatsDep,
    catalog: CatalogDep,
    f: FilterDep,
    group_by: Annotated[
        str | None, Query(max_length=60, description="comma list of agency, case_type, level")
    ] = None,
) -> CaseTypeStats:
    rows = await views.case_type_stats(stats, catalog, f, group_by)
    return CaseTypeStats(rows=[CaseTypeRow(**row) for row in rows])


@router.get("/summary", response_model=Summary)
async def summary(stats: StatsDep, catalog: CatalogDep, f: FilterDep) -> Summary:
    return Summary(**await views.summary(stats, catalog, f))
