from __future__ import annotations

from typing import ClassVar

from shared.settings import ServiceSettings


class IntakeSettings(ServiceSettings):
    service_name: ClassVar[str] = "intake"
    intake_database_url: str | None = None
    intake_port: int = 8001
    timezone: str = "Europe/Stockholm"
    max_question_chars: int = 4000
