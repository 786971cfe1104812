"""Visits per office, day and hour, 1–14 days ahead, and the back-test. Pure (numpy and
statsmodels, no framework).

Method: the office's visits per day (days without visits count as 0) are forecast with
Holt–Winters exponential smoothing (statsmodels ``ExponentialSmoothing``: additive damped
trend, additive weekly season, parameters by maximum likelihood); each day is spread over
the hours by the office's share of that weekday's visits per hour in the last
``PROFILE_WEEKS`` weeks. With less than ``MIN_DAYS`` days of history the forecast is the
mean of the same weekday. The back-test forecasts from several origins and compares
with what came, per office and hour: WAPE = Σ|actual − forecast| / Σ actual, beside the
seasonal naive forecast (the same weekday and hour one week before the origin's week).
"""

from __future__ import annotations

import warnings
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

MIN_DAYS = 28
PROFILE_WEEKS = 8
MAX_DAYS = 14
Hourly = Mapping[tuple[date, int], float]  # (day, local hour) -> visits


def daily_totals(hourly: Hourly) -> dict[date, float]:
    totals: dict[date, float] = defaultdict(float)
    for (day, _hour), n in hourly.items():
        totals[day] += n
    return totals


def _series(totals: Mapping[date, float], last: date) -> tuple[date, np.ndarray]:
    import numpy as np  # here, not at the top: only a forecast needs it (~15 MB resident)

    first = min(totals)
    n = (last - first).days + 1
    return first, np.array([totals.get(first + timedelta(d), 0.0) for d in range(n)], dtype=float)


def forecast_days(totals: Mapping[date, float], last: date, steps: int) -> list[float]:
    """Visits on each of the ``steps`` days after ``last`` (history up to ``last``)."""
    history = {d: n for d, n in totals.items() if d <= last}
    if not history:
        return [0.0] * steps
    first, y = _series(history, last)
    if len(y) < MIN_DAYS or y.sum() == 0:
        return [_weekday_mean(history, last + timedelta(k + 1)) for k in range(steps)]
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = ExponentialSmoothing(y, trend="add", damped_trend=True, seasonal="add",
                                     seasonal_periods=7, initialization_method="estimated").fit()
        out = model.forecast(steps)
    return [max(0.0, float(v)) for v in out]


def _weekday_mean(history: Mapping[date, float], day: date) -> float:
    first, last = min(history), max(history)
    same = [history.get(d, 0.0) for d in (first + timedelta(i) for i in range((last - first).days + 1))
            if d.weekday() == day.weekday()]
    return sum(same) / len(same) if same else 0.0


def hour_profile(hourly: Hourly, last: date) -> dict[int, dict[int, float]]:
    """weekday (1 = Monday) -> hour -> share of that weekday's visits, last weeks only."""
    since = last - timedelta(weeks=PROFILE_WEEKS)
    counts: dict[int, dict[int, float]] = defaultdict(lambda: defaultdict(float))
    for (day, hour), n in hourly.items():
        if since < day <= last:
            counts[day.isoweekday()][hour] += n
    return {wd: {h: n / sum(hours.values()) for h, n in hours.items()}
            for wd, hours in counts.items() if sum(hours.values())}


def forecast_hours(hourly: Hourly, last: date, first_day: date, days: int) -> dict[tuple[date, int], float]:
    """(day, hour) -> expected visits, for ``days`` days from ``first_day`` (after ``last``)."""
    steps = (first_day - last).days + days - 1
    daily = forecast_days(daily_totals(hourly), last, steps)
    profile = hour_profile(hourly, last)
    out = {}
    for k in range(days):
        day = first_day + timedelta(k)
        total = daily[(day - last).days - 1]
        for hour, share in sorted(profile.get(day.isoweekday(), {}).items()):
            out[(day, hour)] = total * share
    return out


def seasonal_naive(hourly: Hourly, last: date, first_day: date, days: int) -> dict[tuple[date, int], float]:
    """The same weekday and hour in the last week up to ``last``."""
    out = {}
    for k in range(days):
        day = first_day + timedelta(k)
        back = day - timedelta(weeks=((day - last).days + 6) // 7)
        for hour in range(24):
            n = hourly.get((back, hour), 0.0)
            if n:
                out[(day, hour)] = n
    return out


def wape(actual: Hourly, predicted: Mapping[tuple[date, int], float]) -> float | None:
    cells = set(actual) | set(predicted)
    total = sum(actual.get(c, 0.0) for c in cells)
    if not total:
        return None
    return sum(abs(actual.get(c, 0.0) - predicted.get(c, 0.0)) for c in cells) / total


def backtest(hourly: Hourly, origins: Sequence[date], horizon: int = MAX_DAYS) -> dict[str, float | int | None]:
    """WAPE per office-hour over ``horizon`` days after each origin (history up to it)."""
    actual: dict[tuple[date, int], float] = {}
    model: dict[tuple[date, int], float] = {}
    naive: dict[tuple[date, int], float] = {}
    for origin in origins:
        start = origin + timedelta(1)
        window = {c: n for c, n in hourly.items() if start <= c[0] < start + timedelta(horizon)}
        train = {c: n for c, n in hourly.items() if c[0] <= origin}
        for c, n in window.items():
            actual[(c[0], c[1])] = n
        model.update(forecast_hours(train, origin, start, horizon))
        naive.update(seasonal_naive(train, origin, start, horizon))
    score, base = wape(actual, model), wape(actual, naive)
    return {"origins": len(origins), "horizon_days": horizon, "visits": int(sum(actual.values())),
            "wape": None if score is None else round(score, 4),
            "seasonal_naive_wape": None if base is None else round(base, 4)}
