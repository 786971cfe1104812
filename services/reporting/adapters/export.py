"""CSV and Parquet export of any fact, dimension, aggregate or cost table, filtered by the
columns it has (service day, office, agency, case type, level)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncEngine

from services.reporting.domain.model import as_utc
from services.reporting.domain.stats import StatsFilter


def _where(table: Table, f: StatsFilter) -> list[Any]:
    c, conditions = table.c, []
    day = c.get("service_day")
    if day is not None and f.first_day:
        conditions.append(day >= f.first_day)
    if day is not None and f.last_day:
        conditions.append(day <= f.last_day)
    for name in ("office_id", "agency", "case_type", "level"):
        value, column = getattr(f, name), c.get(name)
        if value is not None and column is not None:
            conditions.append(column == value)
    return conditions


async def fetch(engine: AsyncEngine, table: Table, f: StatsFilter) -> tuple[list[str], list[tuple]]:
    columns = [c.name for c in table.columns]
    statement = select(table).where(*_where(table, f)).order_by(*table.primary_key.columns)
    async with engine.connect() as conn:
        rows = [tuple(_value(v) for v in r) for r in (await conn.execute(statement)).all()]
    return columns, rows


def _value(value: Any) -> Any:
    return as_utc(value) if isinstance(value, datetime) else value


def to_csv(columns: list[str], rows: list[tuple]) -> Iterator[str]:
    """RFC 4180 CSV with a header; times in ISO 8601 UTC; empty for NULL."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    for start in range(0, max(len(rows), 1), 5_000):
        writer.writerows(
            [[v.isoformat() if isinstance(v, datetime) else v for v in r] for r in rows[start : start + 5_000]]
        )
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()


def to_parquet(columns: list[str], rows: list[tuple]) -> bytes:
    # Imported here, not at the top: pyarrow (with numpy) is ~50 MB of resident memory
    # that only a Parquet export needs (docs/performance.md, peak RSS).
    import pyarrow as pa
    import pyarrow.parquet as pq

    data = {name: [r[i] for r in rows] for i, name in enumerate(columns)}
    sink = io.BytesIO()
    pq.write_table(pa.table(data), sink)
    return sink.getvalue()
