"""Intake's repositories: ports as Protocols, with SQL adapters and in-memory fakes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel.ext.asyncio.session import AsyncSession

from services.intake.adapters.tables import QuestionIndex, QueueTicketCounter


class TicketCounters(Protocol):
    async def next_number(self, office_id: str, service_day: str, queue: str) -> int:
        """The next ticket number of the office's queue that day, starting at 1."""


class QuestionVisits(Protocol):
    async def visit_of(self, question_id: str) -> str | None: ...
    def add(self, question_id: str, visit_id: str) -> None: ...


class SqlTicketCounters:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def next_number(self, office_id: str, service_day: str, queue: str) -> int:
        """One atomic upsert, so concurrent first tickets of a day never collide."""
        insert = pg_insert if self.session.bind.dialect.name == "postgresql" else sqlite_insert
        table = QueueTicketCounter.__table__
        statement = (
            insert(table)
            .values(office_id=office_id, service_day=service_day, queue=queue, last_number=1)
            .on_conflict_do_update(
                index_elements=[table.c.office_id, table.c.service_day, table.c.queue],
                set_={"last_number": table.c.last_number + 1},
            )
            .returning(table.c.last_number)
        )
        return (await self.session.exec(statement)).scalar_one()


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
    counters: dict[tuple[str, str, str], int] = field(default_factory=dict)

    async def next_number(self, office_id: str, service_day: str, queue: str) -> int:
        key = (office_id, service_day, queue)
        self.counters[key] = self.counters.get(key, 0) + 1
        return self.counters[key]


@dataclass
class InMemoryQuestionVisits:
    index: dict[str, str] = field(default_factory=dict)

    async def visit_of(self, question_id: str) -> str | None:
        return self.index.get(question_id)

    def add(self, question_id: str, visit_id: str) -> None:
        self.index[question_id] = visit_id
