"""Reporting's event handlers, by event type string.

``event_handlers`` binds the dependencies by name. ``EventConsumer`` skips any type not
listed here (and a listed type whose class its producer has not declared), so new event
types of other services never stop reporting.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial
from zoneinfo import ZoneInfo

# The producers' event classes must be registered for envelopes to decode: import them.
from services.agency_gateway.domain import events as _gateway_events  # noqa: F401
from services.intake.domain import events as _intake_events  # noqa: F401
from services.reporting.domain.fold import APPLIERS
from services.reporting.handlers.apply import apply_event
from services.routing.domain import events as _routing_events  # noqa: F401

Handler = Callable[..., Awaitable[None]]


def event_handlers(tz: ZoneInfo) -> dict[str, Handler]:
    return {event_type: partial(apply_event, tz=tz) for event_type in APPLIERS}
