"""The reporting store's write side: a port (Protocol), its SQL adapter and an in-memory
fake that commits and rolls back like the database."""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime
from typing import Protocol, TypeVar

from sqlalchemy import func, select
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from services.reporting.adapters.aggregates import mark_dirty
from services.reporting.adapters.tables import ReportingQuestion, ReportingVisit
from services.reporting.domain.model import QuestionRecord, VisitRecord, as_utc

R = TypeVar("R", VisitRecord, QuestionRecord)


class ReportRepository(Protocol):
    async def get_visit(self, visit_id: str) -> VisitRecord | None:
        """The visit's row as a record, or None when no event has named it yet."""

    async def save_visit(self, record: VisitRecord) -> None:
        """Insert or overwrite the visit's row (in the unit of work's transaction)."""

    async def get_question(self, question_id: str) -> QuestionRecord | None:
        """The question's row as a record, or None when no event has named it yet."""

    async def save_question(self, record: QuestionRecord) -> None:
        """Insert or overwrite the question's row (in the unit of work's transaction)."""

    async def count_questions(self, visit_id: str) -> int:
        """How many question rows belong to the visit, including unsaved ones."""


def _to_record(row: SQLModel, cls: type[R]) -> R:
    values = {f.name: getattr(row, f.name) for f in fields(cls)}
    return cls(**{k: as_utc(v) if isinstance(v, datetime) else v for k, v in values.items()})


class SqlReports:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get_visit(self, visit_id: str) -> VisitRecord | None:
        row = await self.session.get(ReportingVisit, visit_id)
        return _to_record(row, VisitRecord) if row else None

    async def save_visit(self, record: VisitRecord) -> None:
        await self._save(ReportingVisit, record.visit_id, asdict(record))

    async def get_question(self, question_id: str) -> QuestionRecord | None:
        row = await self.session.get(ReportingQuestion, question_id)
        return _to_record(row, QuestionRecord) if row else None

    async def save_question(self, record: QuestionRecord) -> None:
        await self._save(ReportingQuestion, record.question_id, asdict(record))

    async def count_questions(self, visit_id: str) -> int:
        query = select(func.count()).where(ReportingQuestion.visit_id == visit_id)
        return (await self.session.exec(query)).scalar_one()

    async def _save(self, table: type[SQLModel], key: str, values: dict) -> None:
        """Upsert the row and mark its day (old and new) for the aggregates' rebuild,
        in the same transaction."""
        row = await self.session.get(table, key)
        days = {values.get("service_day")}
        if row is None:
            self.session.add(table(**values))
        else:
            days.add(row.service_day)
            for name, value in values.items():
                setattr(row, name, value)
            self.session.add(row)
        await mark_dirty(self.session, [d for d in days if d])


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

    async def count_questions(self, visit_id: str) -> int:
        merged = {**self.store.questions, **self.questions}
        return sum(1 for q in merged.values() if q.visit_id == visit_id)

    def flush(self) -> None:
        self.store.visits.update(self.visits)
        self.store.questions.update(self.questions)
        self.discard()

    def discard(self) -> None:
        self.visits.clear()
        self.questions.clear()
