"""Workload and cost per office, county or month (``GET /v1/stats/workload``). Pure.

- staffed hours: closed desk sessions (opened → closed) of the period's days;
- visits and questions per staffed hour;
- service time per question: a visit's time at desks split evenly over its questions,
  averaged per group and per level and agency;
- cost: the office's fixed costs (premises, and costs an agency carries alone) and
  variable costs of the period (``domain.costs``, by calendar days), split across the
  agencies (fixed evenly over the sharing agencies, variable by the measured case mix);
  cost per visit = cost / visits registered, per question = cost / questions asked;
- the spread across the groups (median, quartiles) and the groups beyond Tukey's fences.
"""

from __future__ import annotations

import calendar
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from services.reporting.domain.costs import CostConfig, allocate
from services.reporting.domain.spread import flag_outliers
from services.reporting.domain.steering_inputs import Period, QuestionRow, SessionRow, VisitRow

GROUPS = ("office", "county", "month")
SPREAD_METRICS = ("visits_per_staffed_hour", "questions_per_staffed_hour",
                  "service_minutes_per_question", "cost_per_visit", "cost_per_question")


@dataclass
class _Group:
    offices: set[str] = field(default_factory=set)
    visits: int = 0
    questions: int = 0
    staffed_seconds: float = 0.0
    service: list[float] = field(default_factory=list)  # seconds per question
    by_level_agency: dict[tuple[str, str], list[float]] = field(default_factory=lambda: defaultdict(list))
    cost: float = 0.0
    costed: bool = False
    cost_by_agency: Counter = field(default_factory=Counter)


def keyer(group_by: str, counties: Mapping[str, str]) -> Callable[[str, str], str]:
    if group_by == "county":
        return lambda office, _day: counties.get(office, "okänt län")
    if group_by == "month":
        return lambda _office, day: day[:7]
    return lambda office, _day: office


def workload(
    group_by: str, period: Period, visits: Iterable[VisitRow], questions: Iterable[QuestionRow],
    sessions: Iterable[SessionRow], costs: CostConfig | None, counties: Mapping[str, str],
    names: Mapping[str, str],
) -> dict[str, Any]:
    key = keyer(group_by, counties)
    groups: dict[str, _Group] = defaultdict(_Group)
    visits = [v for v in visits if period.holds(v.service_day)]
    questions = [q for q in questions if period.holds(q.service_day)]
    per_question = {v.visit_id: v.service_seconds / v.question_count for v in visits
                    if v.service_seconds is not None and v.question_count > 0}
    for v in visits:
        g = groups[key(v.office_id, v.service_day)]
        g.visits += 1
        g.offices.add(v.office_id)
    for q in questions:
        g = groups[key(q.office_id, q.service_day)]
        g.questions += 1
        if q.visit_id in per_question:
            g.service.append(per_question[q.visit_id])
            g.by_level_agency[(q.level or "unclassified", q.agency or "unknown")].append(per_question[q.visit_id])
    for s in sessions:
        if s.staffed_seconds is not None and period.holds(s.service_day):
            groups[key(s.office_id, s.service_day)].staffed_seconds += s.staffed_seconds
    if costs is not None:
        _add_costs(groups, group_by, period, visits, questions, costs, key)
    rows = [_row(group_by, k, g, names) for k, g in sorted(groups.items())]
    spreads = flag_outliers(rows, SPREAD_METRICS)
    service_time = [
        {_label(group_by): k, "level": level, "agency": agency, "questions": len(seconds),
         "minutes_per_question": _minutes(seconds)}
        for k, g in sorted(groups.items()) for (level, agency), seconds in sorted(g.by_level_agency.items())
    ]
    return {"period": {"from": period.first.isoformat(), "to": period.last.isoformat()},
            "rows": rows, "spread": spreads, "service_time": service_time}


def _add_costs(groups, group_by, period, visits, questions, costs, key) -> None:
    """Each office's costs of each part of the period its group covers (a month's part
    when grouped by month), with the case mix and visits of that part."""
    parts = [period]
    if group_by == "month":  # each month with visits, its part of the period
        clipped = (_clip(_month(month), period) for month in sorted({v.service_day[:7] for v in visits}))
        parts = [part for part in clipped if part is not None]
    for part in parts:
        offices = {v.office_id for v in visits if part.holds(v.service_day)}
        for office_id in sorted(offices):
            office = costs.for_office(office_id)
            if office is None:
                continue
            mix = Counter(q.agency for q in questions
                          if q.office_id == office_id and q.agency and part.holds(q.service_day))
            n = sum(1 for v in visits if v.office_id == office_id and part.holds(v.service_day))
            split = allocate(office, part.first, part.last, dict(mix), n)
            g = groups[key(office_id, part.first.isoformat())]
            g.cost += split.fixed + split.variable
            g.costed = True
            for a in split.agencies:
                g.cost_by_agency[a.agency] += a.total


def _month(month: str) -> Period:
    first = date.fromisoformat(month + "-01")
    return Period(first, date(first.year, first.month, calendar.monthrange(first.year, first.month)[1]))


def _clip(part: Period, period: Period) -> Period | None:
    first, last = max(part.first, period.first), min(part.last, period.last)
    return Period(first, last) if first <= last else None


def _label(group_by: str) -> str:
    return {"office": "office_id", "county": "county", "month": "month"}[group_by]


def _per(n: float, d: float) -> float | None:
    return round(n / d, 3) if d else None


def _minutes(seconds: Sequence[float]) -> float | None:
    return round(sum(seconds) / len(seconds) / 60, 2) if seconds else None


def _row(group_by: str, k: str, g: _Group, names: Mapping[str, str]) -> dict[str, Any]:
    hours = g.staffed_seconds / 3600
    row: dict[str, Any] = {_label(group_by): k}
    if group_by == "office":
        row["office_name"] = names.get(k, k)
    cost = round(g.cost, 2) if g.costed else None
    row.update({
        "offices": len(g.offices), "visits": g.visits, "questions": g.questions,
        "staffed_hours": round(hours, 2), "visits_per_staffed_hour": _per(g.visits, hours),
        "questions_per_staffed_hour": _per(g.questions, hours),
        "service_minutes_per_question": _minutes(g.service),
        "cost_sek": cost,
        "cost_per_visit": _per(g.cost, g.visits) if g.costed else None,
        "cost_per_question": _per(g.cost, g.questions) if g.costed else None,
        "cost_by_agency": {a: round(c, 2) for a, c in sorted(g.cost_by_agency.items())},
    })
    return row
