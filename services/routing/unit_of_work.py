"""Routing's unit of work: the shared one plus the question-facts repository."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from services.routing.adapters.repositories import (
    InMemoryQuestionFacts,
    QuestionFactsRepository,
    SqlQuestionFacts,
)
from shared.unit_of_work import InMemoryState, InMemoryUnitOfWork, SqlUnitOfWork


class SqlRoutingUnitOfWork(SqlUnitOfWork):
    facts: QuestionFactsRepository

    def open_repositories(self, session: AsyncSession) -> None:
        self.facts = SqlQuestionFacts(session)


class FakeRoutingUnitOfWork(InMemoryUnitOfWork):
    def __init__(
        self, state: InMemoryState | None = None, facts: InMemoryQuestionFacts | None = None
    ) -> None:
        super().__init__(state)
        self.facts = facts or InMemoryQuestionFacts()

    def fresh(self) -> FakeRoutingUnitOfWork:
        return FakeRoutingUnitOfWork(self.state, self.facts)
