"""Reporting's event handlers, by event type string.

``event_handlers`` binds the dependencies by name. ``EventConsumer`` skips any type not
listed here (and a listed type whose class its producer has not declared), so new event
types of other services never stop reporting.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial
from zoneinfo import ZoneInfo

from services.reporting.handlers import gateway, intake, routing

Handler = Callable[..., Awaitable[None]]


def event_handlers(tz: ZoneInfo) -> dict[str, Handler]:
    return {
        "intake.VisitRegistered": partial(intake.visit_registered, tz=tz),
        "intake.VisitCalled": intake.visit_called,
        "intake.QuestionRecorded": partial(intake.question_recorded, tz=tz),
        "intake.QuestionResolved": intake.question_resolved,
        "intake.VisitEnded": intake.visit_ended,
        "routing.QuestionClassified": partial(routing.question_classified, tz=tz),
        "routing.CaseRoutedToAgency": partial(routing.case_routed_to_agency, tz=tz),
        "routing.ClassificationOverridden": partial(routing.classification_overridden, tz=tz),
        "gateway.CaseQueuedForDelivery": partial(gateway.case_queued, tz=tz),
        "gateway.CaseForwarded": gateway.case_forwarded,
        "gateway.CaseForwardingFailed": gateway.case_forwarding_failed,
        "gateway.CaseDeadLettered": gateway.case_dead_lettered,
    }
