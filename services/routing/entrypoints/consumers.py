"""Routing's consumer of intake's topic (consumer group ``routing``): a recorded question
is classified; a question resolved as forwarded at the desk goes to the agency's system."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from services.routing.domain.classifier import Classifier
from services.routing.handlers import decisions
from shared import topics
from shared.consumer import EventConsumer
from shared.contracts.intake import QuestionRecorded, QuestionResolved
from shared.unit_of_work import UnitOfWork

CONSUMER_NAME = "routing"


def build_consumers(uow_factory: Callable[[], UnitOfWork], classifier: Classifier) -> list[EventConsumer]:
    return [
        EventConsumer(
            CONSUMER_NAME,
            [topics.INTAKE],
            uow_factory,
            {
                QuestionRecorded.event_type(): partial(decisions.classify_question, classifier=classifier),
                QuestionResolved.event_type(): decisions.forward_resolved,
            },
        )
    ]
