"""Rows of nested answers as flat tables (CSV, Parquet): ``survey.got_help.share``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def _flat(row: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in row.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(_flat(value, f"{name}."))
        elif isinstance(value, list | tuple):
            out[name] = ";".join(map(str, value))
        else:
            out[name] = value
    return out


def flatten(rows: Sequence[Mapping[str, Any]]) -> tuple[list[str], list[tuple]]:
    flat = [_flat(r) for r in rows]
    columns: list[str] = []
    for r in flat:
        columns += [c for c in r if c not in columns]
    return columns, [tuple(r.get(c) for c in columns) for r in flat]
