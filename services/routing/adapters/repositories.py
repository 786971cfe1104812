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


ROUTING_TABLES = [QuestionFactsRow.__table__]


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
