"""Analysis routes beyond the contract: time of day, waiting and service times, trends,
level mix, destinations of complex questions, forwarding, overrides, satisfaction and the
cost allocation. All take the common filter (period, office, agency, case type, level)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter

from services.reporting import views
from services.reporting.domain import analytics
from services.reporting.domain.stats import check_filter
from services.reporting.entrypoints.deps import (
    AnalyticsDep,
    CatalogDep,
    DepsDep,
    FilterDep,
    StatsDep,
)
from shared.security import needs

router = APIRouter(prefix="/v1", tags=["reporting analysis"], dependencies=needs("stats:read"))
Answer = dict[str, Any]


@router.get("/stats/offices")
async def offices(reader: AnalyticsDep) -> Answer:
    return {"rows": await reader.offices()}


@router.get("/stats/time-of-day")
async def time_of_day(reader: AnalyticsDep, catalog: CatalogDep, f: FilterDep) -> Answer:
    """Visits per weekday (1 = Monday) and local hour of registration."""
    check_filter(f, catalog)
    return analytics.time_of_day(await reader.time_of_day(f))


@router.get("/stats/waiting")
async def waiting(
    stats: StatsDep, catalog: CatalogDep, f: FilterDep,
    group_by: Literal["all", "day", "office", "agency"] = "office",
) -> Answer:
    """Waiting (registered to called) and service (called to end) seconds: median and
    90th percentile (nearest rank); questions per visit."""
    return {"rows": await views.waiting(stats, catalog, f, group_by)}


@router.get("/stats/trends")
async def trends(
    reader: AnalyticsDep, catalog: CatalogDep, f: FilterDep,
    interval: Literal["day", "week", "month"] = "day",
    by: Literal["agency", "level"] | None = None,
) -> Answer:
    return {"rows": await views.trends(reader, catalog, f, interval, by)}


@router.get("/stats/level-mix")
async def level_mix(
    stats: StatsDep, catalog: CatalogDep, f: FilterDep,
    group_by: Literal["agency", "case_type"] = "agency",
) -> Answer:
    return {"rows": await views.level_mix(stats, catalog, f, group_by == "case_type")}


@router.get("/stats/destinations")
async def destinations(reader: AnalyticsDep, catalog: CatalogDep, f: FilterDep) -> Answer:
    """Where complex questions went: agency desk, video or booked meeting, agency system."""
    check_filter(f, catalog)
    return {"rows": analytics.destinations(await reader.destinations(f))}


@router.get("/stats/forwarding")
async def forwarding(reader: AnalyticsDep, catalog: CatalogDep, f: FilterDep) -> Answer:
    """Per agency: cases, delivered, dead-lettered, failure rates, forwarding latency."""
    check_filter(f, catalog)
    return {"rows": analytics.forwarding(*await reader.forwarding(f))}


@router.get("/stats/overrides")
async def overrides(reader: AnalyticsDep, catalog: CatalogDep, f: FilterDep) -> Answer:
    """How often handlers overrode the classifier, by the classifier's agency."""
    check_filter(f, catalog)
    return analytics.overrides(*await reader.overrides(f))


@router.get("/stats/satisfaction")
async def satisfaction(
    reader: AnalyticsDep, catalog: CatalogDep, f: FilterDep,
    group_by: Literal["all", "office", "agency"] = "all",
) -> Answer:
    """The three survey questions, in all, per office or per agency (a visit counts for
    every agency its questions went to)."""
    check_filter(f, catalog)
    by = None if group_by == "all" else group_by
    label = "agency" if by == "agency" else "office_id"
    return {"rows": analytics.satisfaction(await reader.satisfaction(f, by), label)}


@router.get("/costs/allocation", responses={404: {"description": "no office costs are configured"}})
async def cost_allocation(
    reader: AnalyticsDep, deps: DepsDep, catalog: CatalogDep, f: FilterDep
) -> Answer:
    """Office costs of the period split across agencies: fixed evenly over the sharing
    agencies, variable by the measured case mix; cost per visit per office."""
    return await views.cost_allocation(reader, catalog, deps.costs, f)
