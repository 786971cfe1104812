"""The office day's statistics: waiting and service times, no-shows, transfers, recalls
and channels (``GET /v1/stats/waits``)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter

from services.reporting.domain.day_stats import check_waits_query, wait_rows
from services.reporting.domain.stats import check_filter
from services.reporting.entrypoints.deps import CatalogDep, DayStatsDep, DepsDep, FilterDep
from shared.security import needs

router = APIRouter(prefix="/v1/stats", tags=["reporting analysis"], dependencies=needs("stats:read"))


@router.get("/waits")
async def waits(
    reader: DayStatsDep, deps: DepsDep, catalog: CatalogDep, f: FilterDep,
    group_by: Literal["office", "queue", "hour", "weekday"] = "office",
) -> dict[str, Any]:
    """Per office, queue, local hour or weekday: visits and their channels, waiting time
    (registered → first call) and service time (call → end or transfer) in minutes (mean,
    median, 90th percentile), no-shows, transfers and recalls. Filters: period, office."""
    check_waits_query(check_filter(f, catalog), group_by)
    names = {o.id: o.name for o in deps.offices}
    return {"rows": wait_rows(group_by, *await reader.waits(f, group_by), names)}
