"""The steering figures the national audit asked for (RiR 2022:28): workload and cost,
quality, unnecessary demand (repeat contacts) and forecasts for staffing, per office."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from services.reporting.domain.forecast_report import staffing, visits_forecast
from services.reporting.domain.steering_inputs import shift
from services.reporting.entrypoints.deps import DepsDep, OfficeId, ReportingDeps
from services.reporting.views import SteeringQuery, steering_figure
from shared.security import needs

router = APIRouter(prefix="/v1", tags=["reporting steering"], dependencies=needs("stats:read"))
From = Annotated[date | None, Query(alias="from", description="first service day, YYYY-MM-DD")]
To = Annotated[date | None, Query(description="last service day (inclusive)")]
Office = Annotated[OfficeId | None, Query()]


def _today(deps: ReportingDeps) -> date:
    return datetime.now(deps.tz).date()


async def figure(deps: ReportingDeps, name: str, q: SteeringQuery) -> dict[str, Any]:
    return await steering_figure(name, q, deps.steering, deps.costs, deps.offices)


@router.get("/stats/workload")
async def workload(deps: DepsDep, day_from: From = None, to: To = None, office_id: Office = None,
                   group_by: Literal["office", "county", "month"] = "office") -> dict[str, Any]:
    """Staffed desk-hours, visits and questions per staffed hour, service time per question
    (by level and agency), cost per visit and per question, and the spread across groups."""
    return await figure(deps, "workload", SteeringQuery(day_from, to, office_id, group_by))


@router.get("/stats/quality")
async def quality(deps: DepsDep, day_from: From = None, to: To = None, office_id: Office = None,
                  group_by: Literal["office", "agency"] = "office") -> dict[str, Any]:
    """First-contact resolution, waits within 15 minutes, the kiosk's estimate error, the
    agencies' time to decision, and the survey with its response rate and intervals."""
    return await figure(deps, "quality", SteeringQuery(day_from, to, office_id, group_by))


@router.get("/stats/repeat-contacts")
async def repeat_contacts(deps: DepsDep, day_from: From = None, to: To = None, office_id: Office = None,
                          days: Literal["14", "30"] = "30",
                          group_by: Literal["office", "agency", "case_type"] = "office") -> dict[str, Any]:
    """The same person back about the same agency and case type within 14 or 30 days (at
    any office), unlinked visits, and matters that needed more than one agency."""
    return await figure(deps, "repeat-contacts", SteeringQuery(day_from, to, office_id, group_by, int(days)))


@router.get("/forecast/visits", responses={404: {"description": "no visits recorded at the office"}})
async def forecast_visits(deps: DepsDep, office_id: OfficeId,
                          days: Annotated[int, Query(ge=1, le=14)] = 7,
                          day_from: Annotated[date | None, Query(alias="from", description="first day forecast [tomorrow]")] = None,
                          ) -> dict[str, Any]:
    """Visits per day and hour for 1–14 days (history up to the day before)."""
    today = _today(deps)
    hourly = await deps.steering.hourly(office_id)
    return visits_forecast(office_id, hourly, day_from or today + timedelta(1), days, today)


@router.get("/forecast/staffing", responses={404: {"description": "no visits recorded at the office"}})
async def forecast_staffing(deps: DepsDep, office_id: OfficeId,
                            day: Annotated[date | None, Query(alias="date", description="the day [tomorrow]")] = None,
                            ) -> dict[str, Any]:
    """Per hour: expected visits and the desks that keep 90 % of waits under 15 minutes."""
    today = _today(deps)
    reader = deps.steering
    day = day or today + timedelta(1)
    hourly = await reader.hourly(office_id)
    service = await reader.service_minutes(office_id, shift(day, -56))
    return staffing(office_id, hourly, day, service, today)
