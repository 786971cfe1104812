"""The audit trail for supervisors: who overrode, replayed, erased or exported what, and
when, newest first."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request

from services.reporting.adapters.audit_log import AuditQuery, read_audit
from services.reporting.domain.audit import Action
from services.reporting.domain.model import as_utc
from services.reporting.entrypoints.schemas import AuditPage, AuditRow
from shared.errors import InvalidInput
from shared.security import needs

router = APIRouter(prefix="/v1/audit", tags=["audit"], dependencies=needs("audit:read"))
MAX_LIMIT = 500
ACTOR = "who: the token subject the event names"
FROM = "from this moment, inclusive (ISO 8601; UTC unless it has an offset; a date is its midnight)"
TO = "before this moment, exclusive"
PRINTABLE = r"^[^\x00-\x1f\x7f]+$"  # no control characters (PostgreSQL refuses NUL)


@router.get("", response_model=AuditPage)
async def audit(
    request: Request,
    action: Annotated[Action | None, Query()] = None,
    actor: Annotated[str | None, Query(max_length=200, pattern=PRINTABLE, description=ACTOR)] = None,
    since: Annotated[datetime | None, Query(alias="from", description=FROM)] = None,
    until: Annotated[datetime | None, Query(alias="to", description=TO)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
    offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
) -> AuditPage:
    since, until = _utc(since, "from"), _utc(until, "to")
    if since and until and since >= until:
        raise InvalidInput("'from' must be before 'to'")
    query = AuditQuery(action, actor, since, until, limit, offset)
    total, rows = await read_audit(request.app.state.runtime.engine, query)
    return AuditPage(rows=[AuditRow(**row) for row in rows], total=total, limit=limit, offset=offset)


def _utc(moment: datetime | None, name: str) -> datetime | None:
    """In UTC (naive: UTC already); a moment that has none (year 1 or 9999 with an
    offset) is a 422, not a 500."""
    try:
        return as_utc(moment)
    except OverflowError as error:
        raise InvalidInput(f"{name!r} is out of range") from error
