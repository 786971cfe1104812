"""The cost allocation of a period for every office with configured costs, and the split
per agency in total (the sources' 45 / 43 / 12 % table, computed continuously)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

from services.reporting.domain.costs import CostConfig, OfficeAllocation, allocate


def _money(value: float) -> float:
    return round(value, 2)


def allocation_report(
    config: CostConfig, first: date, last: date, mix: Iterable[Sequence[Any]],
    visits: Iterable[Sequence[Any]], office_id: str | None = None,
) -> dict[str, Any]:
    questions: dict[str, dict[str, int]] = defaultdict(dict)
    for office, agency, n in mix:
        questions[office][agency] = n
    visit_counts = {office: n for office, n in visits}
    names = sorted(set(visit_counts) | set(questions) | set(config.offices))
    if office_id is not None:
        names = [office_id]
    allocations = [
        allocate(costs, first, last, questions.get(name, {}), visit_counts.get(name, 0))
        for name in names if (costs := config.for_office(name)) is not None
    ]
    return {
        "from": first.isoformat(), "to": last.isoformat(), "currency": config.currency,
        "offices": [_office(a) for a in allocations],
        "agencies": _totals(allocations),
        "total": _money(sum(a.fixed + a.variable for a in allocations)),
    }


def _office(a: OfficeAllocation) -> dict[str, Any]:
    return {
        "office_id": a.office_id, "fixed": _money(a.fixed), "variable": _money(a.variable),
        "total": _money(a.fixed + a.variable), "visits": a.visits, "questions": a.questions,
        "cost_per_visit": _money(a.cost_per_visit) if a.cost_per_visit is not None else None,
        "variable_basis": a.variable_basis,
        "agencies": [
            {"agency": c.agency, "questions": c.questions, "mix_share": round(c.mix_share, 4),
             "fixed": _money(c.fixed), "variable": _money(c.variable), "total": _money(c.total)}
            for c in a.agencies
        ],
    }


def _totals(allocations: Sequence[OfficeAllocation]) -> list[dict[str, Any]]:
    sums: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for a in allocations:
        for c in a.agencies:
            sums[c.agency][0] += c.fixed
            sums[c.agency][1] += c.variable
    grand = sum(f + v for f, v in sums.values())
    rows = [
        {"agency": agency, "fixed": _money(f), "variable": _money(v), "total": _money(f + v),
         "share": round((f + v) / grand, 4) if grand else None}
        for agency, (f, v) in sums.items()
    ]
    return sorted(rows, key=lambda r: (-r["total"], r["agency"]))
