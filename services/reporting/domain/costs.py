"""Office costs and their allocation to agencies (docs/reporting.md, "Cost tables").

- Fixed costs (premises) are given per office and year; a period carries its share by
  calendar days, and they are split evenly across the office's sharing agencies.
- Fixed costs one agency carries alone (``fixed_by_agency``, per year: Skatteverket pays
  network and telephony) go to that agency, pro-rated by days like the premises.
- Variable costs are given per office and period; a report period carries each one's share
  by overlapping days, and they are split by the measured case mix: each agency's share
  of the office's classified questions in the period. With no question in the period the
  variable costs are split like the fixed ones (``variable_basis``: ``even_split``).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date
from typing import Any

from services.reporting.domain.calendar import overlap_days
from shared.catalog import Catalog
from shared.errors import InvalidInput

DEFAULT_SHARING = ("forsakringskassan", "skatteverket", "pensionsmyndigheten")


@dataclass(frozen=True)
class PeriodAmount:
    first_day: date
    last_day: date
    amount: float

    @property
    def days(self) -> int:
        return (self.last_day - self.first_day).days + 1


@dataclass(frozen=True)
class OfficeCosts:
    office_id: str
    fixed_per_year: float
    variable: tuple[PeriodAmount, ...]
    sharing_agencies: tuple[str, ...]
    fixed_by_agency: tuple[tuple[str, float], ...] = ()

    def fixed_for(self, first: date, last: date, per_year: float | None = None) -> float:
        """The fixed cost of a period: each year's amount by the days it covers."""
        total, amount = 0.0, self.fixed_per_year if per_year is None else per_year
        for year in range(first.year, last.year + 1):
            year_days = 366 if calendar.isleap(year) else 365
            covered = overlap_days(first, last, date(year, 1, 1), date(year, 12, 31))
            total += amount * covered / year_days
        return total

    def borne_for(self, first: date, last: date) -> dict[str, float]:
        """Each agency's own fixed costs in the period (``fixed_by_agency``)."""
        return {a: self.fixed_for(first, last, amount) for a, amount in self.fixed_by_agency}

    def variable_for(self, first: date, last: date) -> float:
        return sum(
            v.amount * overlap_days(first, last, v.first_day, v.last_day) / v.days
            for v in self.variable
        )


@dataclass(frozen=True)
class CostConfig:
    currency: str
    offices: dict[str, OfficeCosts]
    default: OfficeCosts | None = None

    def for_office(self, office_id: str) -> OfficeCosts | None:
        """The office's own costs, else the default office's (``"*"``), else None."""
        found = self.offices.get(office_id)
        if found is None and self.default is not None:
            return OfficeCosts(office_id, self.default.fixed_per_year, self.default.variable,
                               self.default.sharing_agencies, self.default.fixed_by_agency)
        return found

    def periods(self, office: OfficeCosts) -> list[tuple[date, date]]:
        return sorted({(v.first_day, v.last_day) for v in office.variable})


@dataclass(frozen=True)
class AgencyCost:
    office_id: str
    agency: str
    questions: int
    mix_share: float
    fixed: float
    variable: float

    @property
    def total(self) -> float:
        return self.fixed + self.variable


@dataclass(frozen=True)
class OfficeAllocation:
    office_id: str
    first_day: date
    last_day: date
    fixed: float
    variable: float
    visits: int
    questions: int
    variable_basis: str
    agencies: tuple[AgencyCost, ...]

    @property
    def cost_per_visit(self) -> float | None:
        return (self.fixed + self.variable) / self.visits if self.visits else None


def allocate(
    office: OfficeCosts, first: date, last: date, questions: dict[str, int], visits: int
) -> OfficeAllocation:
    """Split one office's costs of one period across agencies."""
    fixed, variable = office.fixed_for(first, last), office.variable_for(first, last)
    borne = office.borne_for(first, last)
    total_questions = sum(questions.values())
    sharing = office.sharing_agencies
    names = sorted(set(sharing) | set(borne) | {a for a, n in questions.items() if n})
    rows = []
    for agency in names:
        n = questions.get(agency, 0)
        mix = n / total_questions if total_questions else 0.0
        even = 1 / len(sharing) if agency in sharing else 0.0
        rows.append(AgencyCost(
            office.office_id, agency, n, mix, fixed * even + borne.get(agency, 0.0),
            variable * (mix if total_questions else even),
        ))
    basis = "case_mix" if total_questions else "even_split"
    return OfficeAllocation(office.office_id, first, last, fixed + sum(borne.values()), variable,
                            visits, total_questions, basis, tuple(rows))


def parse_cost_config(raw: dict[str, Any], catalog: Catalog) -> CostConfig:
    """Build and check the configuration (see ``costs.sample.yaml``)."""
    if not isinstance(raw, dict) or not isinstance(raw.get("offices"), dict):
        raise InvalidInput("the cost file needs an 'offices' mapping")
    sharing = tuple(raw.get("default_sharing_agencies") or DEFAULT_SHARING)
    offices = {str(k): _office(str(k), v, sharing, catalog) for k, v in raw["offices"].items()}
    default = offices.pop("*", None)
    return CostConfig(str(raw.get("currency", "SEK")), offices, default)


def _office(office_id: str, raw: Any, sharing: tuple[str, ...], catalog: Catalog) -> OfficeCosts:
    if not isinstance(raw, dict):
        raise InvalidInput(f"office {office_id!r}: expected a mapping")
    agencies = tuple(raw.get("sharing_agencies") or sharing)
    unknown = [a for a in agencies if not catalog.is_agency(a)]
    if unknown or not agencies:
        raise InvalidInput(f"office {office_id!r}: unknown or no sharing agencies {unknown}")
    variable = tuple(_period(office_id, v) for v in raw.get("variable") or [])
    borne = raw.get("fixed_by_agency") or {}
    if not isinstance(borne, dict) or [a for a in borne if not catalog.is_agency(a)]:
        raise InvalidInput(f"office {office_id!r}: fixed_by_agency maps agency codes to yearly amounts")
    try:
        own = tuple((str(a), float(v)) for a, v in sorted(borne.items()))
    except (TypeError, ValueError) as error:
        raise InvalidInput(f"office {office_id!r}: fixed_by_agency amounts must be numbers") from error
    return OfficeCosts(office_id, float(raw.get("fixed_per_year", 0)), variable, agencies, own)


def _period(office_id: str, raw: Any) -> PeriodAmount:
    try:
        first = date.fromisoformat(str(raw["from"]))
        last = date.fromisoformat(str(raw["to"]))
        amount = float(raw["amount"])
    except (KeyError, TypeError, ValueError) as error:
        raise InvalidInput(f"office {office_id!r}: bad variable period {raw!r}") from error
    if last < first or amount < 0:
        raise InvalidInput(f"office {office_id!r}: period ends before it starts or is negative")
    return PeriodAmount(first, last, amount)
