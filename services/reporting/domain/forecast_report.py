"""Answers of ``GET /v1/forecast/visits`` and ``GET /v1/forecast/staffing``. Pure."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from services.reporting.domain.erlang import desks_needed, share_within
from services.reporting.domain.forecast import MAX_DAYS, Hourly, forecast_hours
from shared.errors import InvalidInput, NotFound

TARGET_MINUTES, TARGET_SHARE = 15, 0.9
DEFAULT_SERVICE_MINUTES = 10.0
METHOD = ("Holt-Winters exponential smoothing of visits per day (statsmodels: additive damped "
          "trend, additive weekly season), spread over the hours by the weekday's hour profile")


def origin_for(office_id: str, hourly: Hourly, first_day: date, today: date) -> date:
    """The last day of history the forecast uses: the day before ``first_day`` at the
    latest; refused beyond ``MAX_DAYS`` days ahead of today and of the history."""
    if not hourly:
        raise NotFound(f"no visits recorded at office {office_id!r}: nothing to forecast from")
    first_seen = min(day for day, _ in hourly)
    if first_day <= first_seen:
        raise InvalidInput("a forecast needs history before its first day", {"history_from": first_seen.isoformat()})
    last = min(max(day for day, _ in hourly), first_day - timedelta(1))
    if first_day > max(today, last) + timedelta(MAX_DAYS):
        raise InvalidInput(f"forecasts reach {MAX_DAYS} days ahead",
                           {"latest": (max(today, last) + timedelta(MAX_DAYS)).isoformat()})
    return last


def visits_forecast(office_id: str, hourly: Hourly, first_day: date, days: int, today: date) -> dict[str, Any]:
    if not 1 <= days <= MAX_DAYS:
        raise InvalidInput(f"days must be 1–{MAX_DAYS}", {"days": days})
    last = origin_for(office_id, hourly, first_day, today)
    history = {c: n for c, n in hourly.items() if c[0] <= last}
    cells = forecast_hours(history, last, first_day, days)
    rows = [{"date": d.isoformat(), "weekday": d.isoweekday(), "hour": h, "visits": round(n, 2)}
            for (d, h), n in sorted(cells.items())]
    per_day = [{"date": (first_day + timedelta(k)).isoformat(),
                "weekday": (first_day + timedelta(k)).isoweekday(),
                "visits": round(sum(r["visits"] for r in rows if r["date"] == (first_day + timedelta(k)).isoformat()), 1)}
               for k in range(days)]
    return {"office_id": office_id, "history_to": last.isoformat(),
            "history_days": len({d for d, _ in history}), "method": METHOD, "days": per_day, "rows": rows}


def staffing(office_id: str, hourly: Hourly, day: date, service: tuple[float | None, int], today: date) -> dict[str, Any]:
    """Per hour: expected visits and the desks that keep ``TARGET_SHARE`` of waits under
    ``TARGET_MINUTES`` minutes (Erlang C with the office's measured mean service time)."""
    last = origin_for(office_id, hourly, day, today)
    history = {c: n for c, n in hourly.items() if c[0] <= last}
    cells = forecast_hours(history, last, day, 1)
    minutes, measured = service
    basis = "measured" if minutes else "default"
    minutes = minutes or DEFAULT_SERVICE_MINUTES
    rows = []
    for (_, hour), visits in sorted(cells.items()):
        desks = desks_needed(visits, minutes, TARGET_MINUTES, TARGET_SHARE)
        rows.append({"hour": hour, "expected_visits": round(visits, 2), "desks_needed": desks,
                     "share_within_target": round(share_within(desks, visits, minutes, TARGET_MINUTES), 3)})
    return {"office_id": office_id, "date": day.isoformat(), "history_to": last.isoformat(),
            "service_minutes": round(minutes, 2), "service_basis": basis, "service_visits_measured": measured,
            "target": {"minutes": TARGET_MINUTES, "share": TARGET_SHARE}, "method": "Erlang C (M/M/c)",
            "desk_hours": sum(r["desks_needed"] for r in rows), "rows": rows}
