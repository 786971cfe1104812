"""Read-side answers of the stats endpoints, built from the store's grouped counts."""

from __future__ import annotations

from typing import Any

from services.reporting.adapters.stats import StatsReader
from services.reporting.domain.stats import (
    StatsFilter,
    case_type_rows,
    check_filter,
    check_visit_group,
    parse_case_type_groups,
    visit_rows,
)
from shared.catalog import LEVELS, Catalog


async def visit_stats(
    stats: StatsReader, catalog: Catalog, f: StatsFilter, group_by: str
) -> list[dict[str, Any]]:
    check_filter(f, catalog)
    group_by = check_visit_group(group_by)
    return visit_rows(group_by, await stats.visit_groups(f, group_by))


async def case_type_stats(
    stats: StatsReader, catalog: Catalog, f: StatsFilter, group_by: str | None
) -> list[dict[str, Any]]:
    check_filter(f, catalog)
    groups = parse_case_type_groups(group_by)
    return case_type_rows(groups, await stats.case_type_counts(f, groups))


async def summary(stats: StatsReader, catalog: Catalog, f: StatsFilter) -> dict[str, Any]:
    check_filter(f, catalog)
    totals = await stats.summary(f)
    by_level: dict[str | None, int] = totals["by_level"]
    return {
        "visits": totals["visits"],
        "visits_ended": totals["visits_ended"],
        "questions": sum(by_level.values()),
        "questions_by_level": {level: by_level.get(level, 0) for level in LEVELS},
        "unclassified": by_level.get(None, 0),
        "cases_routed": totals["cases_routed"],
        "cases_delivered": totals["cases_delivered"],
    }
