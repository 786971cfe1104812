"""The spread of a figure across offices: median, quartiles and Tukey's fences (1.5 times
the interquartile range beyond the quartiles); a value outside the fences stands out."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Any

FENCE = 1.5


def spread(values: Sequence[float | None]) -> dict[str, Any]:
    known = sorted(v for v in values if v is not None)
    if not known:
        return {"n": 0, "median": None, "q1": None, "q3": None, "low_fence": None, "high_fence": None}
    if len(known) == 1:
        q1 = q3 = known[0]
    else:
        q1, _, q3 = statistics.quantiles(known, n=4, method="inclusive")
    iqr = q3 - q1
    return {"n": len(known), "median": _r(statistics.median(known)), "q1": _r(q1), "q3": _r(q3),
            "low_fence": _r(q1 - FENCE * iqr), "high_fence": _r(q3 + FENCE * iqr)}


def flag_outliers(rows: list[dict[str, Any]], metrics: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The spread of each metric over ``rows``; each row gets ``outliers``: the metrics
    where it lies beyond a fence (``<metric>:high`` or ``<metric>:low``)."""
    spreads = {m: spread([r.get(m) for r in rows]) for m in metrics}
    for row in rows:
        row["outliers"] = []
        for m, s in spreads.items():
            value = row.get(m)
            if value is None or s["n"] < 4:  # too few offices to call one an outlier
                continue
            if value > s["high_fence"]:
                row["outliers"].append(f"{m}:high")
            elif value < s["low_fence"]:
                row["outliers"].append(f"{m}:low")
    return spreads


def _r(value: float) -> float:
    return round(value, 3)
