"""Agency, case-type and level codes (``data/catalog.yaml``, copied from the design's
catalog). Every service validates codes against this one source."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources

import yaml

LEVELS = ("general", "in_depth", "complex")


@dataclass(frozen=True)
class CaseType:
    agency: str
    code: str
    name: str
    share: float | None
    # A visitor may book a meeting for it at the kiosk without a desk's help
    # (``self_booking: true`` in the catalog; docs/bookings.md).
    self_booking: bool = False


@dataclass(frozen=True)
class Catalog:
    agency_names: dict[str, str]
    agency_short: dict[str, str]  # FK, SKV, …: one list for every brief label
    case_types: dict[tuple[str, str], CaseType]
    level_descriptions: dict[str, str]

    def is_agency(self, code: str) -> bool:
        return code in self.agency_names

    def is_case_type(self, agency: str, code: str) -> bool:
        return (agency, code) in self.case_types

    def case_types_of(self, agency: str) -> list[CaseType]:
        return [c for (a, _), c in self.case_types.items() if a == agency]

    def is_self_booking(self, agency: str, code: str) -> bool:
        found = self.case_types.get((agency, code))
        return found is not None and found.self_booking

    def all_case_type_codes(self) -> set[str]:
        return {code for _, code in self.case_types}


@cache
def load_catalog() -> Catalog:
    raw = yaml.safe_load(resources.files("shared").joinpath("data/catalog.yaml").read_text())
    case_types = {
        (agency, code): CaseType(agency, code, spec["name"], spec.get("share"), bool(spec.get("self_booking", False)))
        for agency, body in raw["agencies"].items()
        for code, spec in body["case_types"].items()
    }
    return Catalog(
        agency_names={a: body["name"] for a, body in raw["agencies"].items()},
        agency_short={a: body["short"] for a, body in raw["agencies"].items()},
        case_types=case_types,
        level_descriptions=dict(raw["levels"]),
    )
