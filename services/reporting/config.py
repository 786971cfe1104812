from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import Field

from shared.settings import ServiceSettings


class ReportingSettings(ServiceSettings):
    service_name: ClassVar[str] = "reporting"
    reporting_database_url: str | None = None
    reporting_port: int = 8004
    # The local day a visit or question is counted on (``service_day``).
    timezone: str = "Europe/Stockholm"
    # SK_REPORTING_COSTS_FILE: office costs (YAML or JSON). Unset: on the embedded default
    # (SQLite) the shipped services/reporting/adapters/data/costs.sources-2015.yaml, unless
    # SK_REPORTING_SHIPPED_COSTS=false; on PostgreSQL no cost allocation.
    # A sample ships as services/reporting/adapters/data/costs.sample.yaml.
    reporting_costs_file: Path | None = None
    reporting_shipped_costs: bool = True
    # How often the daily aggregates catch up with the facts (seconds).
    reporting_refresh_seconds: float = Field(default=2.0, gt=0)
