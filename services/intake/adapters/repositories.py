"""Intake's repositories: ports as Protocols, with SQL adapters and in-memory fakes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from sqlmodel.ext.asyncio.session import AsyncSession

from services.intake.adapters.tables import QuestionIndex, TicketCounter


class TicketCounters(Protocol):
    async def next_number(self, office_id: str, service_day: str) -> int:
        """The next ticket number of the office that day, starting at 1."""


class QuestionVisits(Protocol):
    async def visit_of(self, question_id: str) -> str | None: ...
    def add(self, question_id: str, visit_id: str) -> None: ...


class SqlTicketCounters:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def next_number(self, office_id: str, service_day: str) -> int:
        row = await self.session.get(
            TicketCounter, (office_id, service_day), with_for_update=True
        )
        row = row or TicketCounter(office_id=office_id, service_day=service_day)
        row.last_number += 1
        self.session.add(row)
        return row.last_number


class SqlQuestionVisits:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def visit_of(self, question_id: str) -> str | None:
        row = await self.session.get(QuestionIndex, question_id)
        return row.visit_id if row else None

    def add(self, question_id: str, visit_id: str) -> None:
        self.session.add(QuestionIndex(question_id=question_id, visit_id=visit_id))


@dataclass
class InMemoryTicketCounters:
    counters: dict[tuple[str, str], int] = field(default_factory=dict)

    async def next_number(self, office_id: str, service_day: str) -> int:
        key = (office_id, service_day)
        self.counters[key] = self.counters.get(key, 0) + 1
        return self.counters[key]


@dataclass
class InMemoryQuestionVisits:
    index: dict[str, str] = field(default_factory=dict)

    async def visit_of(self, question_id: str) -> str | None:
        return self.index.get(question_id)

    def add(self, question_id: str, visit_id: str) -> None:
        self.index[question_id] = visit_id
