from __future__ import annotations

from typing import ClassVar

from shared.settings import ServiceSettings


class ReportingSettings(ServiceSettings):
    service_name: ClassVar[str] = "reporting"
    reporting_database_url: str | None = None
    reporting_port: int = 8004
    # The local day a visit or question is counted on (``service_day``).
    timezone: str = "Europe/Stockholm"
