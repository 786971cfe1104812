"""Read-side answers of the analysis endpoints: check the filter, ask the readers, let the
domain shape the answer."""

from __future__ import annotations

from typing import Any

from services.reporting.adapters.analytics import AnalyticsReader
from services.reporting.adapters.stats import StatsReader
from services.reporting.domain import analytics
from services.reporting.domain.cost_report import allocation_report
from services.reporting.domain.costs import CostConfig
from services.reporting.domain.stats import StatsFilter, VisitGroup, check_filter
from shared.catalog import Catalog
from shared.errors import InvalidInput, NotFound


async def waiting(
    stats: StatsReader, catalog: Catalog, f: StatsFilter, group_by: str
) -> list[dict[str, Any]]:
    check_filter(f, catalog)
    if group_by != "all":
        return analytics.waiting(group_by, await stats.visit_groups(f, group_by))
    merged = VisitGroup("all", 0, 0)
    for g in await stats.visit_groups(f, "office"):
        merged.visits, merged.questions = merged.visits + g.visits, merged.questions + g.questions
        merged.waits += g.waits
        merged.services += g.services
    return analytics.waiting("all", [merged] if merged.visits else [])


async def trends(
    reader: AnalyticsReader, catalog: Catalog, f: StatsFilter, interval: str, by: str | None
) -> list[dict[str, Any]]:
    check_filter(f, catalog)
    visits = await reader.visits_by_day(f)
    questions = await reader.questions_by_day(f, by)
    return analytics.trends(visits, questions, interval, by)


async def level_mix(
    stats: StatsReader, catalog: Catalog, f: StatsFilter, by_case_type: bool
) -> list[dict[str, Any]]:
    check_filter(f, catalog)
    keys = ("agency", "case_type") if by_case_type else ("agency",)
    counts = await stats.case_type_counts(f, (*keys, "level"))
    return analytics.level_mix(counts, keys)


async def cost_allocation(
    reader: AnalyticsReader, catalog: Catalog, costs: CostConfig | None, f: StatsFilter
) -> dict[str, Any]:
    """Needs a whole period: the costs are pro-rated by its days."""
    check_filter(f, catalog)
    if costs is None:
        raise NotFound("no office costs are configured (set SK_REPORTING_COSTS_FILE)")
    if f.day_from is None or f.day_to is None:
        raise InvalidInput("cost allocation needs a period: give both 'from' and 'to'")
    if f.agency or f.case_type or f.level:
        raise InvalidInput("costs are allocated over all agencies: filter by period and office")
    mix, visits = await reader.case_mix(f)
    return allocation_report(costs, f.day_from, f.day_to, mix, visits, f.office_id)

