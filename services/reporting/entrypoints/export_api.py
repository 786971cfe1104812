"""Export of any fact, dimension, aggregate or cost table as CSV or Parquet."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse

from services.reporting.adapters.bi_tables import EXPORTABLE
from services.reporting.adapters.export import fetch, to_csv, to_parquet
from services.reporting.domain.stats import check_filter
from services.reporting.entrypoints.deps import CatalogDep, FilterDep
from shared.errors import NotFound
from shared.security import needs

router = APIRouter(prefix="/v1/export", tags=["reporting export"], dependencies=needs("exports:read"))


@router.get("/tables")
async def tables() -> dict[str, list[str]]:
    return {"rows": sorted(EXPORTABLE)}


@router.get("/{table}")
async def export(
    request: Request, table: str, catalog: CatalogDep, f: FilterDep,
    format: Literal["csv", "parquet"] = "csv",
) -> Response:
    """The table's rows, filtered by the columns it has (``service_day`` for the period)."""
    if table not in EXPORTABLE:
        raise NotFound(f"no table {table!r}", {"known": sorted(EXPORTABLE)})
    check_filter(f, catalog)
    columns, rows = await fetch(request.app.state.runtime.engine, EXPORTABLE[table], f)
    disposition = {"content-disposition": f'attachment; filename="{table}.{format}"'}
    if format == "parquet":
        return Response(to_parquet(columns, rows), media_type="application/vnd.apache.parquet",
                        headers=disposition)
    return StreamingResponse(to_csv(columns, rows), media_type="text/csv; charset=utf-8",
                             headers=disposition)
