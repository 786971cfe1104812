"""The gateway's event consumer: routed cases in, queued deliveries out."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from services.agency_gateway.handlers import queue_case
from services.agency_gateway.unit_of_work import GatewayUnitOfWork
from shared import topics
from shared.consumer import EventConsumer
from shared.contracts.routing import CaseRoutedToAgency

CONSUMER_NAME = "agency_gateway"


def build_consumer(
    uow_factory: Callable[[], GatewayUnitOfWork], wake: Callable[[], None] | None = None
) -> EventConsumer:
    """Only ``CaseRoutedToAgency`` matters here; other routing events are marked handled."""
    return EventConsumer(
        name=CONSUMER_NAME,
        topics=[topics.ROUTING],
        uow_factory=uow_factory,
        handlers={CaseRoutedToAgency.event_type(): partial(queue_case, wake=wake)},
    )
