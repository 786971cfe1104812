"""Commands reporting accepts: imperative, validated at the edge, handled by ``handlers``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal


@dataclass(frozen=True)
class RecordExport:
    """``actor`` is the authenticated subject; ``filters`` only codes and days."""

    actor: str
    table: str
    format: Literal["csv", "parquet"]
    rows: int
    filters: dict[str, str] = field(default_factory=dict)
