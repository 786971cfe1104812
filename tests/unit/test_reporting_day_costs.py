"""The cost file shipped for the embedded default: the sources' 447 MSEK (2015) for 103
offices, premises split in thirds, network and telephony on Skatteverket, variable costs
by the case mix; and the rule that picks it."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from services.reporting.adapters.cost_config import SAMPLE, SHIPPED, costs_file, load_cost_config
from services.reporting.domain.costs import allocate, parse_cost_config
from shared.catalog import load_catalog
from shared.errors import InvalidInput

CATALOG = load_catalog()
YEAR = (date(2026, 1, 1), date(2026, 12, 31))
MIX_2014 = {"forsakringskassan": 45, "skatteverket": 45, "pensionsmyndigheten": 8}  # case-type shares


def test_the_shipped_file_gives_the_sources_total_and_about_their_split() -> None:
    costs = load_cost_config(SHIPPED, CATALOG)
    result = allocate(costs.for_office("lulea"), *YEAR, MIX_2014, visits=10_000)
    total = result.fixed + result.variable
    assert round(total * 103 / 1e6) == 447
    shares = {c.agency: c.total / total for c in result.agencies}
    # The sources' 2014 shares: FK 45 %, SKV 43 %, PM 12 % (within three points).
    for agency, share in {"forsakringskassan": 0.45, "skatteverket": 0.43, "pensionsmyndigheten": 0.12}.items():
        assert abs(shares[agency] - share) <= 0.03, (agency, shares)
    fixed = {c.agency: round(c.fixed) for c in result.agencies}
    assert fixed["skatteverket"] - fixed["forsakringskassan"] == 86_800 == fixed["skatteverket"] - fixed["pensionsmyndigheten"]
    assert fixed["forsakringskassan"] == fixed["pensionsmyndigheten"] == 217_000


def test_fixed_costs_of_one_agency_go_to_that_agency_only() -> None:
    raw = {"offices": {"kiruna": {"fixed_per_year": 300.0, "fixed_by_agency": {"skatteverket": 730.0},
                                  "variable": [{"from": "2026-01-01", "to": "2026-12-31", "amount": 100}]}}}
    office = parse_cost_config(raw, CATALOG).offices["kiruna"]
    fifth = allocate(office, date(2026, 1, 1), date(2026, 3, 14), {"forsakringskassan": 1}, visits=1)  # 73 days
    split = {c.agency: round(c.fixed, 2) for c in fifth.agencies}
    assert split == {"forsakringskassan": 20.0, "pensionsmyndigheten": 20.0, "skatteverket": 20.0 + 146.0}
    assert round(fifth.fixed, 2) == 206.0


@pytest.mark.parametrize("borne", [{"nobody": 1}, ["skatteverket"], {"skatteverket": "much"}])
def test_a_bad_fixed_by_agency_is_refused(borne) -> None:
    with pytest.raises(InvalidInput):
        parse_cost_config({"offices": {"x": {"fixed_per_year": 1, "fixed_by_agency": borne}}}, CATALOG)


def test_the_shipped_file_is_the_embedded_default_only() -> None:
    assert costs_file(None, shipped=True, embedded=True) == SHIPPED
    assert costs_file(None, shipped=True, embedded=False) is None
    assert costs_file(None, shipped=False, embedded=True) is None
    assert costs_file(SAMPLE, shipped=True, embedded=True) == SAMPLE == costs_file(SAMPLE, False, False)
    assert Path(SHIPPED).read_text(encoding="utf-8").count("447") >= 2  # says where it comes from
