"""The deliveries repository: a Protocol, its SQL adapter and an in-memory fake."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.agency_gateway.adapters.tables import DeliveryRow
from services.agency_gateway.domain.model import OPEN


class Deliveries(Protocol):
    async def get(self, question_id: str) -> DeliveryRow | None:
        """The delivery of one question, or None."""

    def add(self, row: DeliveryRow) -> None:
        """Insert or update; written when the unit of work commits."""

    async def due(
        self, now: datetime, limit: int, skip_agencies: Collection[str] = ()
    ) -> list[DeliveryRow]:
        """Open deliveries whose next attempt has come, oldest first. On PostgreSQL the
        rows are locked (``SKIP LOCKED``) so replicas never pick the same one."""

    async def next_due_at(self, skip_agencies: Collection[str] = ()) -> datetime | None:
        """When the earliest open delivery falls due."""

    async def find(
        self, status: str | None, agency: str | None, limit: int
    ) -> tuple[list[DeliveryRow], int]:
        """Up to ``limit`` deliveries, newest first, and how many match in all."""


class SqlDeliveries:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, question_id: str) -> DeliveryRow | None:
        return await self.session.get(DeliveryRow, question_id)

    def add(self, row: DeliveryRow) -> None:
        self.session.add(row)

    def _open(self, skip_agencies: Collection[str]):
        query = select(DeliveryRow).where(
            col(DeliveryRow.status).in_(OPEN), col(DeliveryRow.next_attempt_at).is_not(None)
        )
        if skip_agencies:
            query = query.where(col(DeliveryRow.agency).not_in(list(skip_agencies)))
        return query

    async def due(
        self, now: datetime, limit: int, skip_agencies: Collection[str] = ()
    ) -> list[DeliveryRow]:
        query = (
            self._open(skip_agencies)
            .where(col(DeliveryRow.next_attempt_at) <= now)
            .order_by(col(DeliveryRow.next_attempt_at))
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return list((await self.session.exec(query)).all())

    async def next_due_at(self, skip_agencies: Collection[str] = ()) -> datetime | None:
        query = self._open(skip_agencies).order_by(col(DeliveryRow.next_attempt_at)).limit(1)
        row = (await self.session.exec(query)).first()
        return row.next_attempt_at if row else None

    async def find(
        self, status: str | None, agency: str | None, limit: int
    ) -> tuple[list[DeliveryRow], int]:
        conditions = []
        if status:
            conditions.append(col(DeliveryRow.status) == status)
        if agency:
            conditions.append(col(DeliveryRow.agency) == agency)
        query = select(DeliveryRow).where(*conditions)
        rows = await self.session.exec(
            query.order_by(col(DeliveryRow.queued_at).desc()).limit(limit)
        )
        total = await self.session.exec(
            select(func.count()).select_from(DeliveryRow).where(*conditions)
        )
        return list(rows.all()), int(total.one())


@dataclass
class InMemoryDeliveries:
    """Fake with the SQL adapter's semantics: changes are staged and only kept when the
    unit of work commits; callers get copies, as they would get fresh rows from SQL."""

    rows: dict[str, DeliveryRow] = field(default_factory=dict)
    staged: dict[str, DeliveryRow] = field(default_factory=dict)

    def _current(self) -> dict[str, DeliveryRow]:
        return {**self.rows, **self.staged}

    async def get(self, question_id: str) -> DeliveryRow | None:
        row = self._current().get(question_id)
        return _copy(row) if row else None

    def add(self, row: DeliveryRow) -> None:
        self.staged[row.question_id] = row

    def _open(self, skip_agencies: Collection[str]) -> list[DeliveryRow]:
        rows = self._current().values()
        return [
            r
            for r in rows
            if r.status in OPEN and r.agency not in skip_agencies and r.next_attempt_at
        ]

    async def due(
        self, now: datetime, limit: int, skip_agencies: Collection[str] = ()
    ) -> list[DeliveryRow]:
        due = [r for r in self._open(skip_agencies) if r.next_attempt_at <= now]
        due.sort(key=lambda r: r.next_attempt_at)
        return [_copy(r) for r in due[:limit]]

    async def next_due_at(self, skip_agencies: Collection[str] = ()) -> datetime | None:
        times = [r.next_attempt_at for r in self._open(skip_agencies)]
        return min(times, default=None)

    async def find(
        self, status: str | None, agency: str | None, limit: int
    ) -> tuple[list[DeliveryRow], int]:
        rows = [
            r
            for r in self._current().values()
            if (not status or r.status == status) and (not agency or r.agency == agency)
        ]
        rows.sort(key=lambda r: r.queued_at, reverse=True)
        return [_copy(r) for r in rows[:limit]], len(rows)

    def flush(self) -> None:
        self.rows.update(self.staged)
        self.staged.clear()

    def discard(self) -> None:
        self.staged.clear()


def _copy(row: DeliveryRow) -> DeliveryRow:
    return DeliveryRow(**row.model_dump())
