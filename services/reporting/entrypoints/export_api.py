"""Export of any fact, dimension, aggregate or cost table as CSV or Parquet. Every export
is recorded (``reporting.DataExported`` and an audit entry, who from the token) before
its data leaves."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response, StreamingResponse

from services.reporting.adapters.bi_tables import EXPORTABLE
from services.reporting.adapters.export import fetch, to_csv, to_parquet
from services.reporting.domain.commands import RecordExport
from services.reporting.domain.stats import StatsFilter, check_filter
from services.reporting.entrypoints.deps import CatalogDep, FilterDep
from services.reporting.handlers.audit import record_export
from shared.errors import NotFound
from shared.security import Principal, require

# One dependency for the router and the route that names the exporter: FastAPI then
# checks the token once per request.
_exporter = require("exports:read")
Exporter = Annotated[Principal, Depends(_exporter)]
router = APIRouter(prefix="/v1/export", tags=["reporting export"], dependencies=[Depends(_exporter)])


@router.get("/tables")
async def tables() -> dict[str, list[str]]:
    return {"rows": sorted(EXPORTABLE)}


@router.get(
    "/{table}",
    response_class=Response,
    responses={
        200: {
            "description": "the table's rows, as CSV (the default) or Parquet",
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                "application/vnd.apache.parquet": {"schema": {"type": "string", "format": "binary"}},
            },
        }
    },
)
async def export(
    request: Request, table: str, catalog: CatalogDep, f: FilterDep, principal: Exporter,
    format: Literal["csv", "parquet"] = "csv",
) -> Response:
    """The table's rows, filtered by the columns it has (``service_day`` for the period)."""
    if table not in EXPORTABLE:
        raise NotFound(f"no table {table!r}", {"known": sorted(EXPORTABLE)})
    check_filter(f, catalog)
    runtime = request.app.state.runtime
    columns, rows = await fetch(runtime.engine, EXPORTABLE[table], f)
    cmd = RecordExport(principal.subject, table, format, len(rows), filters_of(f))
    await record_export(cmd, runtime.uow_factory())
    disposition = {"content-disposition": f'attachment; filename="{table}.{format}"'}
    if format == "parquet":
        return Response(to_parquet(columns, rows), media_type="application/vnd.apache.parquet",
                        headers=disposition)
    return StreamingResponse(to_csv(columns, rows), media_type="text/csv; charset=utf-8",
                             headers=disposition)


def filters_of(f: StatsFilter) -> dict[str, str]:
    """The filters the export applied, as the query named them (codes and days only)."""
    named = {"from": f.first_day, "to": f.last_day, "office_id": f.office_id,
             "agency": f.agency, "case_type": f.case_type, "level": f.level}
    return {name: value for name, value in named.items() if value is not None}
