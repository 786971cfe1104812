"""Calendar attributes of a service day (the ``dim_date`` dimension) and day ranges."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any


def date_attributes(day: date) -> dict[str, Any]:
    """Year, quarter, tertial (the sources' three counts a year), month, ISO week and
    weekday (1 = Monday) of one day."""
    iso = day.isocalendar()
    return {
        "day": day.isoformat(),
        "year": day.year,
        "quarter": (day.month - 1) // 3 + 1,
        "tertial": (day.month - 1) // 4 + 1,
        "month": day.strftime("%Y-%m"),
        "iso_week": f"{iso.year}-W{iso.week:02d}",
        "weekday": iso.weekday,
        "is_weekend": iso.weekday >= 6,
    }


def days(first: date, last: date) -> Iterator[date]:
    current = first
    while current <= last:
        yield current
        current += timedelta(days=1)


def overlap_days(first: date, last: date, other_first: date, other_last: date) -> int:
    """How many days two inclusive ranges share."""
    start, end = max(first, other_first), min(last, other_last)
    return max(0, (end - start).days + 1)


def period_key(day: str, interval: str) -> str:
    """The trend bucket of a ``YYYY-MM-DD`` day: the day, its ISO week or its month."""
    if interval == "month":
        return day[:7]
    if interval == "week":
        iso = date.fromisoformat(day).isocalendar()
        return f"{iso.year}-W{iso.week:02d}"
    return day
