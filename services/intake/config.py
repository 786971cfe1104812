from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from shared.settings import ServiceSettings


class IntakeSettings(ServiceSettings):
    service_name: ClassVar[str] = "intake"
    intake_database_url: str | None = None
    intake_port: int = 8001
    timezone: str = "Europe/Stockholm"
    max_question_chars: int = 4000
    # SK_RETENTION_DAYS: erase a visit's personal data (destroy its data key) this many
    # days after the key was made; unset: keep it until someone erases it.
    retention_days: int | None = Field(default=None, ge=1)
    # How often the retention worker looks for keys past their time (seconds).
    retention_interval_seconds: float = Field(default=3600.0, gt=0)
    # SK_QUEUE_POLL_SECONDS: how often the queue board reads the event log for changes
    # made by other intake replicas (this process's own commits wake it at once).
    queue_poll_seconds: float = Field(default=0.25, gt=0)
    # SK_PSEUDONYM_KEY: the key of the person pseudonym (HMAC-SHA256 of the identity
    # number, services/intake/adapters/pseudonym.py), base64 of 32 bytes; required in production.
    pseudonym_key: str | None = Field(default=None, repr=False)
    # SK_BOOKING_NO_SHOW_GRACE_MINUTES: a booking nobody checked in for by its time plus
    # this many minutes is a no-show (the no-show worker, docs/bookings.md).
    booking_no_show_grace_minutes: int = Field(default=15, ge=0)
    # How often the no-show worker looks for bookings past their grace (seconds).
    booking_no_show_interval_seconds: float = Field(default=60.0, gt=0)
