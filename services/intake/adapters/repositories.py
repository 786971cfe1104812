"""Intake's repositories: ports as Protocols, with SQL adapters and in-memory fakes.

The SQL adapters run Core statements built once (no ORM unit of work or identity map on
a registration's or a question's path: the rows are never read back as objects)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy import bindparam, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel.ext.asyncio.session import AsyncSession

from services.intake.adapters.tables import QuestionIndex, QueueTicketCounter


class TicketCounters(Protocol):
    async def next_number(self, office_id: str, service_day: str, queue: str) -> int:
        """The next ticket number of the office's queue that day, starting at 1."""


class QuestionVisits(Protocol):
    async def visit_of(self, question_id: str) -> str | None: ...
    async def add(self, question_id: str, visit_id: str) -> None: ...


def _next_ticket(dialect_insert):
    """One atomic upsert, so concurrent first tickets of a day never collide."""
    table = QueueTicketCounter.__table__
    return (
        dialect_insert(table)
        .values(office_id=bindparam("office_id"), service_day=bindparam("service_day"),
                queue=bindparam("queue"), last_number=1)
        .on_conflict_do_update(
            index_elements=[table.c.office_id, table.c.service_day, table.c.queue],
            set_={"last_number": table.c.last_number + 1},
        )
        .returning(table.c.last_number)
    )


_NEXT_TICKET = {"postgresql": _next_ticket(pg_insert), "sqlite": _next_ticket(sqlite_insert)}
_QUESTIONS = QuestionIndex.__table__
_ADD_QUESTION = insert(_QUESTIONS)
_VISIT_OF = select(_QUESTIONS.c.visit_id).where(_QUESTIONS.c.question_id == bindparam("question_id"))


class SqlTicketCounters:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def next_number(self, office_id: str, service_day: str, queue: str) -> int:
        statement = _NEXT_TICKET["postgresql" if self.session.bind.dialect.name == "postgresql" else "sqlite"]
        params = {"office_id": office_id, "service_day": service_day, "queue": queue}
        return (await self.session.exec(statement, params=params)).scalar_one()


class SqlQuestionVisits:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def visit_of(self, question_id: str) -> str | None:
        rows = await self.session.exec(_VISIT_OF, params={"question_id": question_id})
        return rows.scalar_one_or_none()

    async def add(self, question_id: str, visit_id: str) -> None:
        await self.session.exec(_ADD_QUESTION, params={"question_id": question_id, "visit_id": visit_id})


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

    async def add(self, question_id: str, visit_id: str) -> None:
        self.index[question_id] = visit_id
