"""Reporting's read side: what the routes answer, built from the store's readers and the
domain's pure computations. Stats (visits, case types, summary), analysis (waits, trends,
level mix, cost allocation), the steering figures (workload, quality, repeat contacts)
and the meetings with agencies' officials.
Reads only: nothing here writes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from services.reporting.adapters.analytics_reader import AnalyticsReader
from services.reporting.adapters.meeting_reader import SqlMeetingReader
from services.reporting.adapters.stats_reader import StatsReader
from services.reporting.adapters.steering_reader import SqlSteeringReader
from services.reporting.domain import analytics, meetings, quality, repeats, workload
from services.reporting.domain.cost_report import allocation_report
from services.reporting.domain.costs import CostConfig
from services.reporting.domain.stats import (
    StatsFilter,
    VisitGroup,
    case_type_rows,
    check_filter,
    check_visit_group,
    parse_case_type_groups,
    visit_rows,
)
from services.reporting.domain.steering_inputs import period_of, shift
from shared.catalog import LEVELS, Catalog
from shared.errors import InvalidInput, NotFound
from shared.offices import OfficeRegistry

# Stats

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


# Analysis

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


# Steering figures

@dataclass(frozen=True)
class SteeringQuery:
    first: date | None = None
    last: date | None = None
    office_id: str | None = None
    group_by: str = "office"
    days: int = 30


FIGURES = ("workload", "quality", "repeat-contacts")


async def steering_figure(
    name: str, q: SteeringQuery, reader: SqlSteeringReader, costs: CostConfig | None, offices: OfficeRegistry,
) -> dict[str, Any]:
    period = period_of(q.first, q.last, await reader.days())
    if period is None:
        return {"period": None, "rows": []}
    if name == "workload":
        visits = await reader.visits(period.first, period.last, q.office_id)
        questions = await reader.questions(period.first, period.last, q.office_id)
        sessions = await reader.sessions(period.first, period.last, q.office_id)
        return workload.workload(q.group_by, period, visits, questions, sessions, costs,
                                 {o.id: o.county for o in offices}, {o.id: o.name for o in offices})
    visits = await reader.visits(period.first, period.last, q.office_id)
    if name == "quality":
        questions = await reader.questions(period.first, shift(period.last, quality.CAME_BACK_DAYS))
        answer = quality.quality(q.group_by, period, visits, questions, q.office_id)
    else:
        questions = await reader.questions(shift(period.first, -q.days), period.last)
        answer = repeats.repeat_contacts(q.group_by, q.days, period, visits, questions, q.office_id)
    if q.group_by == "office":
        names = {o.id: o.name for o in offices}
        for row in answer["rows"]:
            row["office_name"] = names.get(row["office_id"], row["office_id"])
    return answer


# Meetings

async def meeting_stats(
    reader: SqlMeetingReader, catalog: Catalog, offices: OfficeRegistry, f: StatsFilter,
    kind: str | None, group_by: str,
) -> list[dict[str, Any]]:
    """The meetings of the period (by meeting day; open ends: the first and last meeting
    day found) with the video rooms' room-minutes over the offices that held video meetings
    (or the office asked for)."""
    check_filter(f, catalog)
    found = await reader.meetings(f.day_from, f.day_to, f.office_id, f.agency, kind)
    days = sorted(m.service_day for m in found if m.service_day)
    if not days:
        return []
    first = f.day_from or date.fromisoformat(days[0])
    last = f.day_to or date.fromisoformat(days[-1])
    scope = [f.office_id] if f.office_id else sorted({m.office_id for m in found if m.kind == "video" and m.office_id})
    room = meetings.capacity(scope, first, last, {o.id: o for o in offices}, await reader.rooms())
    rows = meetings.meeting_rows(found, group_by, room)
    if group_by == "office":
        for row in rows:
            office = offices.get(row["office"])
            row["office_name"] = office.name if office else row["office"]
    return rows
