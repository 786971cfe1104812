"""Intake's consumer of the routing and gateway topics (consumer group ``intake``): the
desk's overview of each visit (``domain/overview.py``) follows the decisions and
deliveries of its questions."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from services.intake.domain.overview import OverviewRepository
from services.intake.handlers.overview import apply_event
from shared import topics
from shared.consumer import EventConsumer
from shared.contracts.agency_gateway import (
    AgencyCaseUpdated,
    CaseDeadLettered,
    CaseForwarded,
    CaseForwardingFailed,
    CaseQueuedForDelivery,
    DeadLetterReplayed,
)
from shared.contracts.routing import (
    CaseRoutedToAgency,
    ClassificationOverridden,
    QuestionClassified,
)

CONSUMER_NAME = "intake"

ROUTING_EVENTS = (QuestionClassified, ClassificationOverridden, CaseRoutedToAgency)
GATEWAY_EVENTS = (
    CaseQueuedForDelivery,
    CaseForwarded,
    CaseForwardingFailed,
    CaseDeadLettered,
    DeadLetterReplayed,
    AgencyCaseUpdated,
)


def build_consumers(
    uow_factory: Callable[[], Any], repository: Callable[[Any], OverviewRepository]
) -> list[EventConsumer]:
    """Intake's consumer of the routing and gateway topics (consumer group ``intake``).
    ``repository`` gives the overview's repository of a unit of work."""
    on_routing = partial(apply_event, repository=repository, source="routing")
    on_gateway = partial(apply_event, repository=repository, source="gateway")
    handlers = {e.event_type(): on_routing for e in ROUTING_EVENTS}
    handlers |= {e.event_type(): on_gateway for e in GATEWAY_EVENTS}
    return [EventConsumer(CONSUMER_NAME, [topics.ROUTING, topics.GATEWAY], uow_factory, handlers)]
