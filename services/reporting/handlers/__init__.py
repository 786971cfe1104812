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
from services.reporting.domain.fold import EVENT_TYPES
from services.reporting.handlers.apply import stage_event
from services.reporting.handlers.audit import record_audit
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
    """Every type the fold uses (facts, the office day, steering, meetings) is staged and
    folded with the rest of its transaction at commit; audited types (an override is
    both) add an audit entry in the same transaction."""
    stage = partial(stage_event, tz=tz)
    handlers: dict[str, Handler] = dict.fromkeys(EVENT_TYPES, stage)
    for event_type in AUDITED - OWN_AUDITED:
        found = handlers.get(event_type)
        handlers[event_type] = _both(found, record_audit) if found else record_audit
    return handlers
