"""Routing's unit of work: the shared one plus the question-facts repository."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from services.routing.adapters.repositories import (
    ForwardRequests,
    InMemoryForwardRequests,
    InMemoryQuestionFacts,
    QuestionFactsRepository,
    SqlForwardRequests,
    SqlQuestionFacts,
)
from shared.unit_of_work import InMemoryState, InMemoryUnitOfWork, SqlUnitOfWork


class SqlRoutingUnitOfWork(SqlUnitOfWork):
    facts: QuestionFactsRepository
    forwards: ForwardRequests

    def open_repositories(self, session: AsyncSession) -> None:
        self.facts = SqlQuestionFacts(session)
        self.forwards = SqlForwardRequests(session)


class FakeRoutingUnitOfWork(InMemoryUnitOfWork):
    def __init__(
        self,
        state: InMemoryState | None = None,
        facts: InMemoryQuestionFacts | None = None,
        forwards: InMemoryForwardRequests | None = None,
    ) -> None:
        super().__init__(state)
        self.facts = facts or InMemoryQuestionFacts()
        self.forwards = forwards or InMemoryForwardRequests()

    def fresh(self) -> FakeRoutingUnitOfWork:
        return FakeRoutingUnitOfWork(self.state, self.facts, self.forwards)
