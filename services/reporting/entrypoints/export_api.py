"""Export of any fact, dimension, aggregate or cost table as CSV or Parquet. Every export
is recorded (``reporting.DataExported`` and an audit entry, who from the token) before
its data leaves."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response, StreamingResponse

from services.reporting.adapters.bi_tables import EXPORTABLE
from services.reporting.adapters.export import fetch, to_csv, to_parquet
from services.reporting.domain import quality, repeats, workload
from services.reporting.domain.commands import RecordExport
from services.reporting.domain.flatten import flatten
from services.reporting.domain.stats import StatsFilter, check_filter
from services.reporting.entrypoints.deps import CatalogDep, DepsDep, FilterDep, OfficeId, UowDep
from services.reporting.handlers.audit import record_export
from services.reporting.views import SteeringQuery, steering_figure
from shared.errors import InvalidInput, NotFound
from shared.security import Principal, require

# One dependency for the router and the route that names the exporter: FastAPI then
# checks the token once per request.
_exporter = require("exports:read")
Exporter = Annotated[Principal, Depends(_exporter)]
router = APIRouter(prefix="/v1/export", tags=["reporting export"], dependencies=[Depends(_exporter)])


@router.get("/tables")
async def tables() -> dict[str, list[str]]:
    return {"rows": sorted(EXPORTABLE)}


_FILE = {
    200: {
        "description": "the rows, as CSV (the default) or Parquet",
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            "application/vnd.apache.parquet": {"schema": {"type": "string", "format": "binary"}},
        },
    }
}
_GROUPS = {"workload": workload.GROUPS, "quality": quality.GROUPS, "repeat-contacts": repeats.GROUPS}


@router.get("/steering/{figure}", response_class=Response, responses=_FILE)
async def export_steering(
    figure: Literal["workload", "quality", "repeat-contacts"], principal: Exporter, deps: DepsDep, uow: UowDep,
    day_from: Annotated[date | None, Query(alias="from")] = None, to: date | None = None,
    office_id: Annotated[OfficeId | None, Query()] = None, group_by: str = "office",
    days: Literal["14", "30"] = "30", format: Literal["csv", "parquet"] = "csv",
) -> Response:
    """A steering figure's rows (``/v1/stats/{figure}``), flat: nested fields become
    ``survey.got_help.share`` columns."""
    if group_by not in _GROUPS[figure]:
        raise InvalidInput(f"cannot group {figure} by {group_by!r}", {"known": list(_GROUPS[figure])})
    q = SteeringQuery(day_from, to, office_id, group_by, int(days))
    answer = await steering_figure(figure, q, deps.steering, deps.costs, deps.offices)
    columns, rows = flatten(answer["rows"])
    named = {"from": day_from, "to": to, "office_id": office_id, "group_by": group_by,
             "days": days if figure == "repeat-contacts" else None}
    filters = {k: str(v) for k, v in named.items() if v is not None}
    table = f"steering_{figure.replace('-', '_')}"
    cmd = RecordExport(principal.subject, table, format, len(rows), filters)
    await record_export(cmd, uow)
    return _file(table, format, columns, rows)


def _file(table: str, format: str, columns: list[str], rows: list[tuple]) -> Response:
    disposition = {"content-disposition": f'attachment; filename="{table}.{format}"'}
    if format == "parquet":
        return Response(to_parquet(columns, rows), media_type="application/vnd.apache.parquet",
                        headers=disposition)
    return StreamingResponse(to_csv(columns, rows), media_type="text/csv; charset=utf-8",
                             headers=disposition)


@router.get("/{table}", response_class=Response, responses=_FILE)
async def export(
    request: Request, table: str, catalog: CatalogDep, f: FilterDep, principal: Exporter, uow: UowDep,
    format: Literal["csv", "parquet"] = "csv",
) -> Response:
    """The table's rows, filtered by the columns it has (``service_day`` for the period)."""
    if table not in EXPORTABLE:
        raise NotFound(f"no table {table!r}", {"known": sorted(EXPORTABLE)})
    check_filter(f, catalog)
    runtime = request.app.state.runtime
    columns, rows = await fetch(runtime.engine, EXPORTABLE[table], f)
    cmd = RecordExport(principal.subject, table, format, len(rows), filters_of(f))
    await record_export(cmd, uow)
    return _file(table, format, columns, rows)


def filters_of(f: StatsFilter) -> dict[str, str]:
    """The filters the export applied, as the query named them (codes and days only)."""
    named = {"from": f.first_day, "to": f.last_day, "office_id": f.office_id,
             "agency": f.agency, "case_type": f.case_type, "level": f.level}
    return {name: value for name, value in named.items() if value is not None}
