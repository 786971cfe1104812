"""Intake's consumer of the routing and gateway topics (consumer group ``intake``): the
desk's overview of each visit (``domain/overview.py``) follows the decisions and
deliveries of its questions; the agency's slots and meeting callbacks (through the
gateway) reach the calendar and the bookings."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from services.intake.domain.overview import OverviewRepository
from services.intake.handlers.bookings import on_agency_meeting
from services.intake.handlers.calendar import on_agency_slots
from services.intake.handlers.overview import apply_event
from services.intake.handlers.queue import OfficeDay
from shared import topics
from shared.catalog import Catalog
from shared.consumer import EventConsumer
from shared.contracts.agency_gateway import (
    AgencyCaseUpdated,
    AgencyMeetingUpdated,
    AgencySlotsPublished,
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
    uow_factory: Callable[[], Any], repository: Callable[[Any], OverviewRepository],
    catalog: Catalog | None = None, day: OfficeDay | None = None,
) -> list[EventConsumer]:
    """Intake's consumer of the routing and gateway topics (consumer group ``intake``).
    ``repository`` gives the overview's repository of a unit of work; with ``catalog``
    and ``day``, the agency's slots and meeting callbacks reach the calendar and the
    bookings (docs/bookings.md)."""
    on_routing = partial(apply_event, repository=repository, source="routing")
    on_gateway = partial(apply_event, repository=repository, source="gateway")
    handlers = {e.event_type(): on_routing for e in ROUTING_EVENTS}
    handlers |= {e.event_type(): on_gateway for e in GATEWAY_EVENTS}
    if catalog is not None and day is not None:
        handlers[AgencySlotsPublished.event_type()] = partial(on_agency_slots, catalog=catalog, day=day)
        handlers[AgencyMeetingUpdated.event_type()] = partial(on_agency_meeting, day=day)
    return [EventConsumer(CONSUMER_NAME, [topics.ROUTING, topics.GATEWAY], uow_factory, handlers)]
