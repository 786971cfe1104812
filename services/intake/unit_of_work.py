"""Intake's unit of work: the shared one plus intake's repositories."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from services.intake.adapters.board_feed import BOARD_EVENTS, BoardFeed

from services.intake.adapters.booking_tables import SqlBookingTables
from services.intake.adapters.repositories import (
    InMemoryQuestionVisits,
    InMemoryTicketCounters,
    QuestionVisits,
    SqlQuestionVisits,
    SqlTicketCounters,
    TicketCounters,
)
from shared.eventstore import LoggedEvent
from shared.unit_of_work import InMemoryState, InMemoryUnitOfWork, SqlUnitOfWork


class SqlIntakeUnitOfWork(SqlUnitOfWork):
    """``board_feed``: told of each commit that changes the queue board (a question's
    commit does not: the feed would read the log for nothing)."""

    tickets: TicketCounters
    questions: QuestionVisits
    bookings: SqlBookingTables  # the calendar, the claims and the booking index

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], on_commit: Sequence[Callable] = (),
        board_feed: BoardFeed | None = None,
    ) -> None:
        super().__init__(sessions, on_commit)
        self.board_feed = board_feed

    async def commit(self) -> None:
        board = any(e.event_type in BOARD_EVENTS for e in self.new_events)
        await super().commit()
        if board and self.board_feed is not None:
            self.board_feed.notify()

    def open_repositories(self, session: AsyncSession) -> None:
        self.tickets = SqlTicketCounters(session)
        self.questions = SqlQuestionVisits(session)
        self.bookings = SqlBookingTables(session)


class FakeIntakeUnitOfWork(InMemoryUnitOfWork):
    """In-memory; ticket counters and the question index are not rolled back (the unit
    tests that use it do not need that)."""

    def __init__(
        self,
        state: InMemoryState | None = None,
        tickets: InMemoryTicketCounters | None = None,
        questions: InMemoryQuestionVisits | None = None,
    ) -> None:
        super().__init__(state)
        self.tickets = tickets or InMemoryTicketCounters()
        self.questions = questions or InMemoryQuestionVisits()

    async def read_log(self, after: int, limit: int) -> list[LoggedEvent]:
        """The fake store's log, numbered from 1 like a real one (for the board's feed)."""
        return [LoggedEvent(i, e) for i, e in enumerate(self.state.events.log, 1)][after : after + limit]

    def fresh(self) -> FakeIntakeUnitOfWork:
        """A new unit of work over the same fake database (the factory for handlers)."""
        return FakeIntakeUnitOfWork(self.state, self.tickets, self.questions)
