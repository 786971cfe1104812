"""Reporting's event handlers, by event type string.

``event_handlers`` binds the dependencies by name. ``EventConsumer`` skips any type not
listed here (and a listed type whose class its producer has not declared), so new event
types of other services never stop reporting.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial
from zoneinfo import ZoneInfo

# The producers' event classes must be registered for envelopes to decode: import the
# published contracts (never the other services' packages).
from services.reporting.domain import events as _reporting_events  # noqa: F401
from services.reporting.domain.audit import AUDITED, OWN_AUDITED
from services.reporting.domain.day_rules import DAY_APPLIERS
from services.reporting.domain.fact_rules import APPLIERS
from services.reporting.domain.meeting_rules import MEETING_APPLIERS
from services.reporting.domain.steering_rules import STEERING_APPLIERS
from services.reporting.handlers.apply import apply_event
from services.reporting.handlers.audit import record_audit
from services.reporting.handlers.day import apply_day_event
from services.reporting.handlers.meetings import apply_meeting_event
from services.reporting.handlers.steering import apply_steering_event
from shared.contracts import agency_gateway as _gateway_events  # noqa: F401
from shared.contracts import intake as _intake_events  # noqa: F401
from shared.contracts import routing as _routing_events  # noqa: F401

Handler = Callable[..., Awaitable[None]]


def _both(first: Handler, second: Handler) -> Handler:
    async def handle(*args, **kwargs) -> None:
        await first(*args, **kwargs)
        await second(*args, **kwargs)

    return handle


def event_handlers(tz: ZoneInfo) -> dict[str, Handler]:
    """The fold's types update the facts, the office day's types its queue facts (a
    visit's registration, call and end do both), the steering types their facts, the
    booking types the meetings' facts; audited types (an override is both) add
    an audit entry in the same transaction."""
    handlers: dict[str, Handler] = {t: partial(apply_event, tz=tz) for t in APPLIERS}
    for event_type in DAY_APPLIERS:
        day = partial(apply_day_event, tz=tz)
        found = handlers.get(event_type)
        handlers[event_type] = _both(found, day) if found else day
    for event_type in STEERING_APPLIERS:
        found = handlers.get(event_type)
        handlers[event_type] = _both(found, apply_steering_event) if found else apply_steering_event
    for event_type in MEETING_APPLIERS:  # intake's bookings: their own facts only
        handlers[event_type] = partial(apply_meeting_event, tz=tz)
    for event_type in AUDITED - OWN_AUDITED:
        found = handlers.get(event_type)
        handlers[event_type] = _both(found, record_audit) if found else record_audit
    return handlers
