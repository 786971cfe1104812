"""Statistics queries and answers: the filter, its checks, medians and shares."""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

from shared.catalog import LEVELS, Catalog
from shared.errors import InvalidInput

VISIT_GROUPS = ("day", "office", "agency")
CASE_TYPE_GROUPS = ("agency", "case_type", "level")


@dataclass(frozen=True)
class StatsFilter:
    """Which questions and visits a statistic covers. Days are inclusive; None: open."""

    day_from: date | None = None
    day_to: date | None = None
    office_id: str | None = None
    agency: str | None = None
    level: str | None = None
    case_type: str | None = None

    @property
    def narrows_questions(self) -> bool:
        """True when only visits with a matching question count."""
        return any(v is not None for v in (self.agency, self.level, self.case_type))

    @property
    def first_day(self) -> str | None:
        return self.day_from.isoformat() if self.day_from else None

    @property
    def last_day(self) -> str | None:
        return self.day_to.isoformat() if self.day_to else None


def check_filter(stats_filter: StatsFilter, catalog: Catalog) -> StatsFilter:
    f = stats_filter
    if f.day_from and f.day_to and f.day_from > f.day_to:
        raise InvalidInput("'from' is after 'to'", {"from": f.first_day, "to": f.last_day})
    if f.agency is not None and not catalog.is_agency(f.agency):
        raise InvalidInput(
            f"unknown agency code {f.agency!r}", {"known": sorted(catalog.agency_names)}
        )
    if f.level is not None and f.level not in LEVELS:
        raise InvalidInput(f"unknown level {f.level!r}", {"known": list(LEVELS)})
    if f.case_type is not None and f.case_type not in catalog.all_case_type_codes():
        raise InvalidInput(
            f"unknown case type {f.case_type!r}", {"known": sorted(catalog.all_case_type_codes())}
        )
    return f


def check_visit_group(group_by: str) -> str:
    if group_by not in VISIT_GROUPS:
        raise InvalidInput(f"cannot group visits by {group_by!r}", {"known": list(VISIT_GROUPS)})
    return group_by


def parse_case_type_groups(raw: str | None) -> tuple[str, ...]:
    """``"level,agency"`` -> ``("agency", "level")``: known names, in canonical order."""
    names = [n.strip() for n in (raw or ",".join(CASE_TYPE_GROUPS)).split(",") if n.strip()]
    unknown = [n for n in names if n not in CASE_TYPE_GROUPS]
    if unknown or not names:
        raise InvalidInput(f"cannot group case types by {raw!r}", {"known": list(CASE_TYPE_GROUPS)})
    return tuple(g for g in CASE_TYPE_GROUPS if g in names)


def median(values: Iterable[float]) -> float | None:
    values = list(values)
    return round(statistics.median(values), 1) if values else None


def percentile(values: Iterable[float], p: float) -> float | None:
    """Nearest rank: the smallest value with at least ``p`` of all values at or below it
    (PostgreSQL's ``percentile_disc``)."""
    ordered = sorted(values)
    if not ordered:
        return None
    rank = max(1, math.ceil(p * len(ordered) - 1e-9))
    return round(ordered[rank - 1], 1)


@dataclass
class VisitGroup:
    """One group of visits as the store aggregates it, plus the raw durations."""

    key: str
    visits: int
    questions: int
    ended: int = 0
    waits: list[float] = field(default_factory=list)
    services: list[float] = field(default_factory=list)


def visit_rows(group_by: str, groups: Sequence[VisitGroup]) -> list[dict[str, object]]:
    label = {"day": "day", "office": "office_id", "agency": "agency"}[group_by]
    return [
        {
            label: g.key,
            "visits": g.visits,
            "questions": g.questions,
            "visits_ended": g.ended,
            "median_wait_seconds": median(g.waits),
            "median_service_seconds": median(g.services),
        }
        for g in sorted(groups, key=lambda g: g.key)
    ]


def case_type_rows(
    groups: tuple[str, ...], counts: Sequence[tuple[dict[str, str | None], int]]
) -> list[dict[str, object]]:
    """Rows carry all three keys (None where not grouped), their count and their share
    of all counted questions; largest first."""
    total = sum(n for _, n in counts)
    rows = [
        {
            **{g: (keys.get(g) if g in groups else None) for g in CASE_TYPE_GROUPS},
            "questions": n,
            "share": round(n / total, 4) if total else 0.0,
        }
        for keys, n in counts
    ]
    return sorted(rows, key=lambda r: (-r["questions"], *(str(r[g]) for g in CASE_TYPE_GROUPS)))
