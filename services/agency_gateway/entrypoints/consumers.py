"""The gateway's event consumers: routed cases and intake's bookings in, queued
deliveries out. Bookings have a consumer of their own (its own position in intake's
topic), so neither topic waits for the other."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from services.agency_gateway.handlers import (
    queue_cancellation,
    queue_case,
    queue_meeting,
    queue_move,
)
from services.agency_gateway.unit_of_work import GatewayUnitOfWork
from shared import topics
from shared.consumer import EventConsumer
from shared.contracts.intake import BookingCancelled, BookingMade, BookingMoved
from shared.contracts.routing import CaseRoutedToAgency

CONSUMER_NAME = "agency_gateway"
BOOKINGS_CONSUMER_NAME = "agency_gateway_bookings"


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


def build_bookings_consumer(
    uow_factory: Callable[[], GatewayUnitOfWork], wake: Callable[[], None] | None = None
) -> EventConsumer:
    """Bookings made, moved and cancelled (issue 16); intake's other events are marked handled."""
    handlers = {
        BookingMade.event_type(): partial(queue_meeting, wake=wake),
        BookingMoved.event_type(): partial(queue_move, wake=wake),
        BookingCancelled.event_type(): partial(queue_cancellation, wake=wake),
    }
    return EventConsumer(name=BOOKINGS_CONSUMER_NAME, topics=[topics.INTAKE], uow_factory=uow_factory, handlers=handlers)
