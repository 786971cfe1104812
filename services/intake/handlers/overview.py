"""The overview's consumer handler: one routing or gateway event folded into the desk's
read model of the visit (``domain/overview.py``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from services.intake.domain.overview import OverviewRepository, fold_decision, fold_delivery
from shared.events import EventEnvelope


async def apply_event(
    event: Any,
    envelope: EventEnvelope,
    uow: Any,
    repository: Callable[[Any], OverviewRepository],
    source: str,
) -> None:
    """Consumer handler: a ``routing`` event changes the question's decision row, a
    ``gateway`` one its delivery row (both streams are the question's id). An event whose
    stream version was applied already changes nothing."""
    repo = repository(uow)
    if source == "routing":
        load, fold, save = repo.decision, fold_decision, repo.save_decision
    else:
        load, fold, save = repo.delivery, fold_delivery, repo.save_delivery
    view = await load(event.question_id, event.visit_id)
    if envelope.stream_version <= view.version:
        return
    fold(view, event)
    view.version = envelope.stream_version
    save(view)
