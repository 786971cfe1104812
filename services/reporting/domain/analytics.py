"""Answers of the analysis endpoints, shaped from grouped counts: shares, rates,
percentiles, trends. Pure functions."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from services.reporting.domain.calendar import period_key
from services.reporting.domain.stats import VisitGroup, median, percentile

Row = dict[str, Any]


def ratio(part: float, whole: float) -> float | None:
    return round(part / whole, 4) if whole else None


def time_of_day(rows: Iterable[Sequence[Any]]) -> Row:
    """Visits per weekday (1 = Monday) and hour, and the totals of each."""
    cells = [{"weekday": w, "hour": h, "visits": n} for w, h, n in sorted(rows)]
    by_hour, by_weekday = [0] * 24, [0] * 7
    for cell in cells:
        by_hour[cell["hour"]] += cell["visits"]
        by_weekday[cell["weekday"] - 1] += cell["visits"]
    return {"rows": cells, "by_hour": by_hour, "by_weekday": by_weekday}


def waiting(group_by: str, groups: Sequence[VisitGroup]) -> list[Row]:
    return [
        {
            group_by: g.key,
            "visits": g.visits,
            "questions": g.questions,
            "questions_per_visit": ratio(g.questions, g.visits),
            "median_wait_seconds": median(g.waits),
            "p90_wait_seconds": percentile(g.waits, 0.9),
            "median_service_seconds": median(g.services),
            "p90_service_seconds": percentile(g.services, 0.9),
        }
        for g in sorted(groups, key=lambda g: str(g.key))
    ]


def trends(visits: Iterable[Sequence[Any]], questions: Iterable[Sequence[Any]],
           interval: str, by: str | None) -> list[Row]:
    """Visits and questions per day, ISO week or month; with ``by``, the questions of each
    agency or level and their shares of the period."""
    periods: dict[str, Row] = {}

    def period(day: str) -> Row:
        key = period_key(day, interval)
        return periods.setdefault(key, {"period": key, "visits": 0, "questions": 0, "by": {}})

    for day, n, _ in visits:
        period(day)["visits"] += n
    for day, key, n in questions:
        row = period(day)
        row["questions"] += n
        if by:
            row["by"][key] = row["by"].get(key, 0) + n
    for row in periods.values():
        row["shares"] = {k: ratio(n, row["questions"]) for k, n in sorted(row["by"].items())}
    return [periods[k] for k in sorted(periods)]


def level_mix(counts: Sequence[tuple[dict[str, Any], int]], keys: tuple[str, ...]) -> list[Row]:
    """Per agency (and case type): questions of each level and their shares."""
    groups: dict[tuple, Row] = {}
    for values, n in counts:
        ident = tuple(values[k] for k in keys)
        row = groups.setdefault(ident, {**dict(zip(keys, ident, strict=True)), "general": 0,
                                        "in_depth": 0, "complex": 0, "unclassified": 0})
        row[values.get("level") or "unclassified"] += n
    for row in groups.values():
        row["questions"] = sum(row[lv] for lv in ("general", "in_depth", "complex", "unclassified"))
        row["shares"] = {lv: ratio(row[lv], row["questions"]) for lv in ("general", "in_depth", "complex")}
    return sorted(groups.values(), key=lambda r: (-r["questions"], *(str(r[k]) for k in keys)))


def destinations(rows: Iterable[Sequence[Any]]) -> list[Row]:
    per_agency: dict[str, int] = defaultdict(int)
    items = list(rows)
    for agency, _, n in items:
        per_agency[agency] += n
    return [
        {"agency": a, "destination": d, "questions": n, "share": ratio(n, per_agency[a])}
        for a, d, n in sorted(items, key=lambda r: (r[0], -r[2], str(r[1])))
    ]


def forwarding(counts: Iterable[Sequence[Any]], latencies: Iterable[Sequence[Any]]) -> list[Row]:
    seconds: dict[str, list[float]] = defaultdict(list)
    for agency, value in latencies:
        seconds[agency].append(value)
    return [
        {
            "agency": agency, "cases": cases, "delivered": delivered,
            "dead_lettered": dead, "open": cases - delivered - dead,
            "attempts": attempts, "failed_attempts": failed,
            "attempt_failure_rate": ratio(failed, attempts),
            "dead_letter_rate": ratio(dead, cases),
            "median_forward_seconds": median(seconds[agency]),
            "p90_forward_seconds": percentile(seconds[agency], 0.9),
        }
        for agency, cases, delivered, dead, attempts, failed in sorted(counts)
    ]


def overrides(by_agency: Iterable[Sequence[Any]], moves: Iterable[Sequence[Any]]) -> Row:
    agencies = [
        {"agency": a, "classified": n, "overridden": o, "override_rate": ratio(o, n)}
        for a, n, o in sorted(by_agency, key=lambda r: str(r[0]))
    ]
    classified = sum(r["classified"] for r in agencies)
    overridden = sum(r["overridden"] for r in agencies)
    return {
        "classified": classified, "overridden": overridden,
        "override_rate": ratio(overridden, classified), "by_agency": agencies,
        "level_changes": [{"from_level": a, "to_level": b, "questions": n}
                          for a, b, n in sorted(moves, key=lambda r: (str(r[0]), str(r[1])))],
    }


def satisfaction(rows: Iterable[Sequence[Any]], label: str = "office_id") -> list[Row]:
    """The three survey questions; satisfied = 4 or 5 on the 1–5 scales."""
    return [
        {
            label: office, "answers": n,
            "treatment_satisfied_share": ratio(treat, n), "time_satisfied_share": ratio(time, n),
            "got_help_share": ratio(helped, n),
            "mean_treatment": ratio(sum_treat or 0, n), "mean_time": ratio(sum_time or 0, n),
        }
        for office, n, treat, time, helped, sum_treat, sum_time in sorted(rows, key=lambda r: str(r[0]))
    ]
