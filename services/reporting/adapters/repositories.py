"""The reporting store's write side. ``Projection`` is the port the live consumer writes
through, a batch at a time (SQL: ``adapters.projection``); the fake's record-by-record
repositories below commit and roll back like the database."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Protocol

from services.reporting.domain.fold import Fold
from services.reporting.domain.live_fold import BatchKeys, Changes
from services.reporting.domain.model import QuestionRecord, VisitRecord


class Projection(Protocol):
    async def load(self, keys: BatchKeys, fold: Fold) -> None:
        """Seed ``fold`` with the stored records of the batch's keys."""

    async def save(self, changes: Changes) -> None:
        """Write the batch's changes (in the unit of work's transaction)."""


class ReportRepository(Protocol):
    async def get_visit(self, visit_id: str) -> VisitRecord | None:
        """The visit's row as a record, or None when no event has named it yet."""

    async def save_visit(self, record: VisitRecord) -> None:
        """Insert or overwrite the visit's row (in the unit of work's transaction)."""

    async def get_question(self, question_id: str) -> QuestionRecord | None:
        """The question's row as a record, or None when no event has named it yet."""

    async def save_question(self, record: QuestionRecord) -> None:
        """Insert or overwrite the question's row (in the unit of work's transaction)."""


@dataclass
class InMemoryReportStore:
    """The fake's committed 'database'."""

    visits: dict[str, VisitRecord] = field(default_factory=dict)
    questions: dict[str, QuestionRecord] = field(default_factory=dict)


class InMemoryReports:
    """Stages saves; ``flush`` commits them to the store, ``discard`` drops them."""

    def __init__(self, store: InMemoryReportStore) -> None:
        self.store = store
        self.visits: dict[str, VisitRecord] = {}
        self.questions: dict[str, QuestionRecord] = {}

    async def get_visit(self, visit_id: str) -> VisitRecord | None:
        found = self.visits.get(visit_id) or self.store.visits.get(visit_id)
        return copy.deepcopy(found)

    async def save_visit(self, record: VisitRecord) -> None:
        self.visits[record.visit_id] = copy.deepcopy(record)

    async def get_question(self, question_id: str) -> QuestionRecord | None:
        found = self.questions.get(question_id) or self.store.questions.get(question_id)
        return copy.deepcopy(found)

    async def save_question(self, record: QuestionRecord) -> None:
        self.questions[record.question_id] = copy.deepcopy(record)

    def flush(self) -> None:
        self.store.visits.update(self.visits)
        self.store.questions.update(self.questions)
        self.discard()

    def discard(self) -> None:
        self.visits.clear()
        self.questions.clear()


class InMemoryProjection:
    """The fake's projection: a batch's records loaded and saved through the in-memory
    repositories, record by record (what the SQL projection does set-based)."""

    def __init__(self, reports: InMemoryReports, day: Any, steering: Any, meetings: Any) -> None:
        self.reports, self.day, self.steering, self.meetings = reports, day, steering, meetings

    async def load(self, keys: BatchKeys, fold: Fold) -> None:
        for visit_id in keys.visits:
            if (visit := await self.reports.get_visit(visit_id)) is not None:
                fold.visits[visit_id] = visit
            for event in await self.day.queue_log(visit_id):
                fold.queue_log(visit_id)[event.key] = event
        merged = {**self.reports.store.questions, **self.reports.questions}
        for question_id, q in merged.items():
            if q.visit_id in keys.visits or question_id in keys.questions:
                fold.questions[question_id] = copy.deepcopy(q)
        for office_id, desk in keys.desks:
            for session in await self.day.desk_sessions(office_id, desk):
                fold.desk_log(office_id, desk).add_session(session)
        for booking_id in keys.bookings:
            if (meeting := await self.meetings.get_meeting(booking_id)) is not None:
                fold.meetings.meetings[booking_id] = meeting
        for office_id in keys.rooms:
            if (rooms := await self.meetings.get_rooms(office_id)) is not None:
                fold.meetings.rooms[office_id] = rooms

    async def save(self, changes: Changes) -> None:
        for visit in changes.visits:
            await self.reports.save_visit(visit)
        for question in changes.questions:
            await self.reports.save_question(question)
        for event in changes.queue_events:
            await self.day.add_queue_event(event)
        for derived in changes.derived:
            await self.day.save_derived(derived)
        for session in changes.sessions:
            await self.day.save_session(session)
        s = changes.steering
        for visit_id, minutes in s.estimates.items():
            await self.steering.save_estimate(visit_id, minutes)
        for visit_id in s.erased:
            await self.steering.erase_links(visit_id)
        for link in s.live_links():
            if not await self.steering.is_erased(link.visit_id):
                await self.steering.save_link(link)
        for decision in s.decisions.values():
            await self.steering.save_decision(decision)
        for meeting in changes.meetings:
            await self.meetings.save_meeting(meeting)
        for rooms in changes.rooms:
            await self.meetings.save_rooms(rooms)
