"""Routing's own table: the facts of each question it needs to route it later (an
override can make a question complex after it was classified)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy import Column, Text
from sqlmodel import Field, SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from services.routing.domain.model import QuestionFacts


class QuestionFactsRow(SQLModel, table=True):
    __tablename__ = "routing_question_facts"

    question_id: str = Field(primary_key=True, max_length=36)
    visit_id: str = Field(max_length=36)
    office_id: str = Field(max_length=60)
    text: str = Field(sa_column=Column(Text, nullable=False))
    personal_identity_number: str | None = Field(default=None, max_length=200)  # sealed (vault)


class ForwardRequestRow(SQLModel, table=True):
    """A question the office resolved as ``forwarded`` before routing had classified it
    (its classification failed and waits for a replay): routed as soon as it is."""

    __tablename__ = "routing_forward_requests"

    question_id: str = Field(primary_key=True, max_length=36)
    visit_id: str = Field(max_length=36)


ROUTING_TABLES = [QuestionFactsRow.__table__, ForwardRequestRow.__table__]


class QuestionFactsRepository(Protocol):
    def add(self, facts: QuestionFacts) -> None: ...
    async def get(self, question_id: str) -> QuestionFacts | None: ...


class SqlQuestionFacts:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, facts: QuestionFacts) -> None:
        self.session.add(QuestionFactsRow(**facts.__dict__))

    async def get(self, question_id: str) -> QuestionFacts | None:
        row = await self.session.get(QuestionFactsRow, question_id)
        if row is None:
            return None
        return QuestionFacts(
            row.visit_id, row.question_id, row.office_id, row.text, row.personal_identity_number
        )


@dataclass
class InMemoryQuestionFacts:
    rows: dict[str, QuestionFacts] = field(default_factory=dict)

    def add(self, facts: QuestionFacts) -> None:
        self.rows[facts.question_id] = facts

    async def get(self, question_id: str) -> QuestionFacts | None:
        return self.rows.get(question_id)


class ForwardRequests(Protocol):
    async def request(self, question_id: str, visit_id: str) -> None: ...
    async def take(self, question_id: str) -> bool: ...


class SqlForwardRequests:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def request(self, question_id: str, visit_id: str) -> None:
        """Remember the request (once, however often it is asked)."""
        if await self.session.get(ForwardRequestRow, question_id) is None:
            self.session.add(ForwardRequestRow(question_id=question_id, visit_id=visit_id))

    async def take(self, question_id: str) -> bool:
        """Whether a request waits for this question; it is removed (in this unit of work)."""
        row = await self.session.get(ForwardRequestRow, question_id)
        if row is None:
            return False
        await self.session.delete(row)
        return True


@dataclass
class InMemoryForwardRequests:
    rows: dict[str, str] = field(default_factory=dict)

    async def request(self, question_id: str, visit_id: str) -> None:
        self.rows.setdefault(question_id, visit_id)

    async def take(self, question_id: str) -> bool:
        return self.rows.pop(question_id, None) is not None
