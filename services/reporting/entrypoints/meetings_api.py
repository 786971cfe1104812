"""``GET /v1/stats/meetings``: meetings with agencies' officials (issue 16) per office,
agency, kind, case type or day (docs/reporting.md, "Meetings"). Bad parameters → 422."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from services.reporting import views
from services.reporting.domain.stats import StatsFilter
from services.reporting.entrypoints.deps import Code, DepsDep, OfficeId
from shared.security import needs

router = APIRouter(prefix="/v1/stats", tags=["reporting meetings"], dependencies=needs("stats:read"))


@router.get("/meetings")
async def meeting_stats(
    deps: DepsDep,
    day_from: Annotated[date | None, Query(alias="from", description="first meeting day, YYYY-MM-DD")] = None,
    to: Annotated[date | None, Query(description="last meeting day (inclusive)")] = None,
    office_id: Annotated[OfficeId | None, Query()] = None,
    agency: Annotated[Code | None, Query(description="agency code (catalog)")] = None,
    kind: Annotated[Literal["video", "in_person"] | None, Query()] = None,
    group_by: Literal["office", "agency", "kind", "case_type", "day"] = "office",
) -> dict[str, Any]:
    """Booked, held, no-show and cancelled meetings (by whom), the lead time from booking
    to meeting (median, p90) and the video rooms' use, by the meeting's day."""
    f = StatsFilter(day_from, to, office_id, agency)
    return {"rows": await views.meeting_stats(deps.meetings, deps.catalog, deps.offices, f, kind, group_by)}
