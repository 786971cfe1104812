"""Reporting's pure statistics rules: filters, grouping, medians, shares, local days."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from services.reporting.domain.model import local_day, next_delivery_status, seconds_between
from services.reporting.domain.stats import (
    StatsFilter,
    case_type_rows,
    check_filter,
    check_visit_group,
    median,
    parse_case_type_groups,
)
from shared.catalog import load_catalog
from shared.errors import InvalidInput

STOCKHOLM = ZoneInfo("Europe/Stockholm")


def test_the_service_day_is_the_local_day_in_winter_and_in_summer() -> None:
    assert local_day(datetime(2025, 1, 1, 23, 30, tzinfo=UTC), STOCKHOLM) == "2025-01-02"
    assert local_day(datetime(2025, 6, 30, 22, 30, tzinfo=UTC), STOCKHOLM) == "2025-07-01"
    assert local_day(datetime(2025, 6, 30, 21, 59, tzinfo=UTC), STOCKHOLM) == "2025-06-30"


def test_durations_need_both_ends_and_are_never_negative() -> None:
    start, end = datetime(2025, 1, 1, 9, tzinfo=UTC), datetime(2025, 1, 1, 9, 2, 5, tzinfo=UTC)
    assert seconds_between(start, end) == 125.0
    assert seconds_between(start, None) is None
    assert seconds_between(end, start) == 0.0
    assert seconds_between(start.replace(tzinfo=None), end) == 125.0  # SQLite gives naive UTC


def test_a_delivered_case_stays_delivered_and_other_statuses_follow_the_highest_attempt() -> None:
    assert next_delivery_status("delivered", 1, "dead_lettered", 5) == "delivered"
    assert next_delivery_status("failed", 2, "delivered", 1) == "delivered"
    assert next_delivery_status("failed", 1, "failed", 2) == "failed"
    assert next_delivery_status("failed", 2, "pending", 0) == "failed", "a late queued event"
    assert next_delivery_status("pending", 0, "failed", 1) == "failed"
    assert next_delivery_status("failed", 3, "dead_lettered", 3) == "dead_lettered"
    assert next_delivery_status(None, 0, "dead_lettered", 4) == "dead_lettered"


def test_case_type_groups_are_parsed_into_canonical_order() -> None:
    assert parse_case_type_groups(None) == ("agency", "case_type", "level")
    assert parse_case_type_groups("level, agency,level") == ("agency", "level")
    for bad in ("agency,week", " , ", "AGENCY"):
        with pytest.raises(InvalidInput):
            parse_case_type_groups(bad)


def test_visits_group_only_by_day_office_or_agency() -> None:
    assert check_visit_group("office") == "office"
    with pytest.raises(InvalidInput):
        check_visit_group("week")


def test_a_filter_refuses_reversed_days_unknown_agencies_and_levels() -> None:
    catalog = load_catalog()
    ok = StatsFilter(date(2025, 3, 1), date(2025, 3, 1), agency="skatteverket", level="complex")
    assert check_filter(ok, catalog) is ok
    for bad in (
        StatsFilter(date(2025, 3, 2), date(2025, 3, 1)),
        StatsFilter(agency="nasa"),
        StatsFilter(level="hard"),
    ):
        with pytest.raises(InvalidInput):
            check_filter(bad, catalog)


def test_median_of_an_even_count_is_the_mean_of_the_middle_two() -> None:
    assert median([300.0, 1200.0, 600.0, 900.0]) == 750.0
    assert median([]) is None


def test_case_type_rows_carry_all_keys_shares_and_sort_largest_first() -> None:
    counts = [({"agency": "skatteverket"}, 1), ({"agency": "forsakringskassan"}, 3)]
    rows = case_type_rows(("agency",), counts)
    assert rows == [
        {
            "agency": "forsakringskassan",
            "case_type": None,
            "level": None,
            "questions": 3,
            "share": 0.75,
        },
        {"agency": "skatteverket", "case_type": None, "level": None, "questions": 1, "share": 0.25},
    ]
    assert case_type_rows(("agency",), []) == []
