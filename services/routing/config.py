from __future__ import annotations

from typing import ClassVar

from shared.settings import ServiceSettings


class RoutingSettings(ServiceSettings):
    service_name: ClassVar[str] = "routing"
    routing_database_url: str | None = None
    routing_port: int = 8002
