"""Cost allocation (DOMAIN.md, "Money"): fixed costs evenly over the sharing agencies,
variable costs by the measured case mix, pro-rated by the days of the period."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from services.reporting.adapters.cost_config import SAMPLE, load_cost_config
from services.reporting.domain.cost_report import allocation_report
from services.reporting.domain.costs import allocate, parse_cost_config
from shared.catalog import load_catalog
from shared.errors import InvalidInput

CATALOG = load_catalog()
YEAR = (date(2014, 1, 1), date(2014, 12, 31))


def office(fixed: float = 3_000.0, variable: float = 10_000.0, **extra) -> dict:
    return {"fixed_per_year": fixed,
            "variable": [{"from": "2014-01-01", "to": "2014-12-31", "amount": variable}], **extra}


def config(**offices):
    return parse_cost_config({"currency": "SEK", "offices": offices}, CATALOG)


def test_the_sources_split_is_reproduced_from_case_counts() -> None:
    costs = config(ostersund=office()).offices["ostersund"]
    mix = {"forsakringskassan": 45, "skatteverket": 43, "pensionsmyndigheten": 12}
    result = allocate(costs, *YEAR, mix, visits=200)
    split = {c.agency: (round(c.fixed, 6), round(c.variable, 6)) for c in result.agencies}
    assert split == {
        "forsakringskassan": (1000.0, 4500.0),
        "skatteverket": (1000.0, 4300.0),
        "pensionsmyndigheten": (1000.0, 1200.0),
    }
    assert result.variable_basis == "case_mix" and result.cost_per_visit == 65.0


def test_an_agency_outside_the_premises_pays_only_for_its_questions() -> None:
    costs = config(kiruna=office()).offices["kiruna"]
    result = allocate(costs, *YEAR, {"forsakringskassan": 3, "migrationsverket": 1}, 10)
    rows = {c.agency: c for c in result.agencies}
    assert rows["migrationsverket"].fixed == 0 and rows["migrationsverket"].variable == 2500.0
    assert rows["pensionsmyndigheten"].variable == 0 and rows["pensionsmyndigheten"].fixed == 1000.0
    assert sum(c.total for c in result.agencies) == pytest.approx(13_000.0)


def test_a_period_carries_its_days_share_of_fixed_and_variable_costs() -> None:
    costs = config(umea=office(fixed=36_500, variable=3_650)).offices["umea"]
    ten_days = (date(2014, 3, 1), date(2014, 3, 10))
    assert costs.fixed_for(*ten_days) == pytest.approx(1_000.0)
    assert costs.variable_for(*ten_days) == pytest.approx(100.0)
    assert costs.fixed_for(date(2016, 1, 1), date(2016, 12, 31)) == pytest.approx(36_500)  # leap year
    assert costs.variable_for(date(2015, 1, 1), date(2015, 1, 31)) == 0


def test_without_questions_variable_costs_are_split_like_fixed_ones() -> None:
    costs = config(visby=office()).offices["visby"]
    result = allocate(costs, *YEAR, {}, visits=0)
    assert result.variable_basis == "even_split" and result.cost_per_visit is None
    assert {round(c.variable, 6) for c in result.agencies} == {round(10_000 / 3, 6)}


def test_the_default_office_covers_offices_not_named_and_totals_add_up() -> None:
    cfg = config(**{"*": office(), "malmo": office(fixed=6_000, variable=20_000)})
    report = allocation_report(
        cfg, *YEAR, [("malmo", "skatteverket", 2), ("lund", "forsakringskassan", 1)],
        [("malmo", 10), ("lund", 4)],
    )
    assert [o["office_id"] for o in report["offices"]] == ["lund", "malmo"]
    assert report["total"] == 39_000.0
    assert sum(a["total"] for a in report["agencies"]) == pytest.approx(39_000.0)
    assert sum(a["share"] for a in report["agencies"]) == pytest.approx(1.0, abs=1e-3)
    malmo = next(o for o in report["offices"] if o["office_id"] == "malmo")
    assert malmo["cost_per_visit"] == 2_600.0


@pytest.mark.parametrize(
    "raw",
    [
        {"offices": []},
        {"offices": {"x": {"fixed_per_year": 1, "sharing_agencies": ["nasa"]}}},
        {"offices": {"x": {"variable": [{"from": "2014-02-01", "to": "2014-01-01", "amount": 1}]}}},
        {"offices": {"x": {"variable": [{"from": "yesterday", "to": "2014-01-01", "amount": 1}]}}},
    ],
)
def test_bad_cost_files_are_refused(raw: dict) -> None:
    with pytest.raises(InvalidInput):
        parse_cost_config(raw, CATALOG)


def test_the_shipped_sample_loads(tmp_path: Path) -> None:
    sample = load_cost_config(SAMPLE, CATALOG)
    assert sample is not None and sample.default is not None and "kiruna" in sample.offices
    assert "migrationsverket" in sample.offices["kiruna"].sharing_agencies
    assert load_cost_config(None, CATALOG) is None
    broken = tmp_path / "costs.yaml"
    broken.write_text("offices: [", encoding="utf-8")
    with pytest.raises(InvalidInput):
        load_cost_config(broken, CATALOG)
