"""Reporting's consumer: every event of the three producers' topics (consumer group
``reporting``), folded into the BI store by the handlers."""

from __future__ import annotations

from collections.abc import Callable
from zoneinfo import ZoneInfo

from services.reporting.handlers import event_handlers
from shared import topics
from shared.consumer import EventConsumer
from shared.unit_of_work import UnitOfWork

CONSUMER_NAME = "reporting"


def build_consumers(uow_factory: Callable[[], UnitOfWork], tz: ZoneInfo) -> list[EventConsumer]:
    return [EventConsumer(CONSUMER_NAME, list(topics.ALL), uow_factory, event_handlers(tz))]
