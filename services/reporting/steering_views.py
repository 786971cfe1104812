"""The steering figures' answers: the period, the facts they need from the reader, and
the pure computation (``domain.workload``, ``quality``, ``repeats``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from services.reporting.adapters.steering_reader import SqlSteeringReader
from services.reporting.domain import quality, repeats, workload
from services.reporting.domain.costs import CostConfig
from services.reporting.domain.steering_inputs import period_of, shift
from shared.offices import OfficeRegistry


@dataclass(frozen=True)
class SteeringQuery:
    first: date | None = None
    last: date | None = None
    office_id: str | None = None
    group_by: str = "office"
    days: int = 30


FIGURES = ("workload", "quality", "repeat-contacts")


async def steering_figure(
    name: str, q: SteeringQuery, reader: SqlSteeringReader, costs: CostConfig | None, offices: OfficeRegistry,
) -> dict[str, Any]:
    period = period_of(q.first, q.last, await reader.days())
    if period is None:
        return {"period": None, "rows": []}
    if name == "workload":
        visits = await reader.visits(period.first, period.last, q.office_id)
        questions = await reader.questions(period.first, period.last, q.office_id)
        sessions = await reader.sessions(period.first, period.last, q.office_id)
        return workload.workload(q.group_by, period, visits, questions, sessions, costs,
                                 {o.id: o.county for o in offices}, {o.id: o.name for o in offices})
    visits = await reader.visits(period.first, period.last, q.office_id)
    if name == "quality":
        questions = await reader.questions(period.first, shift(period.last, quality.CAME_BACK_DAYS))
        answer = quality.quality(q.group_by, period, visits, questions, q.office_id)
    else:
        questions = await reader.questions(shift(period.first, -q.days), period.last)
        answer = repeats.repeat_contacts(q.group_by, q.days, period, visits, questions, q.office_id)
    if q.group_by == "office":
        names = {o.id: o.name for o in offices}
        for row in answer["rows"]:
            row["office_name"] = names.get(row["office_id"], row["office_id"])
    return answer
