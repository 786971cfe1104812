"""The deliveries repository: a Protocol, its SQL adapter and an in-memory fake."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from sqlalchemy import func, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.agency_gateway.adapters.tables import DeliveryRow
from services.agency_gateway.domain.model import OPEN


class Deliveries(Protocol):
    async def get(self, question_id: str) -> DeliveryRow | None:
        """The delivery of one question, or None."""

    async def get_many(self, question_ids: Collection[str]) -> dict[str, DeliveryRow]:
        """The deliveries of several questions (one query), by question id."""

    def add(self, row: DeliveryRow) -> None:
        """Insert or update; written when the unit of work commits."""

    async def due(
        self, now: datetime, limit: int, skip_agencies: Collection[str] = ()
    ) -> list[DeliveryRow]:
        """Open deliveries whose next attempt has come, oldest first. On PostgreSQL the
        rows are locked (``SKIP LOCKED``) so replicas never pick the same one."""

    async def lease(
        self, question_ids: Collection[str], now: datetime, until: datetime
    ) -> set[str]:
        """Move the next attempt of those still open and due at ``now`` to ``until``, in
        one statement; returns the ones moved. A compare-and-set: a delivery another
        worker leased since it was read is not among them (on SQLite, where ``due``
        locks nothing, this is what keeps two workers from taking one delivery)."""

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

    async def get_many(self, question_ids: Collection[str]) -> dict[str, DeliveryRow]:
        if not question_ids:
            return {}
        query = select(DeliveryRow).where(col(DeliveryRow.question_id).in_(sorted(question_ids)))
        return {row.question_id: row for row in (await self.session.exec(query)).all()}

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

    async def lease(
        self, question_ids: Collection[str], now: datetime, until: datetime
    ) -> set[str]:
        if not question_ids:
            return set()
        table = DeliveryRow.__table__
        statement = (
            update(table)
            .where(
                table.c.question_id.in_(sorted(question_ids)),
                table.c.status.in_(OPEN),
                table.c.next_attempt_at <= now,
            )
            .values(next_attempt_at=until)
            .returning(table.c.question_id)
        )
        return set((await self.session.exec(statement)).scalars())

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

    async def get_many(self, question_ids: Collection[str]) -> dict[str, DeliveryRow]:
        current = self._current()
        return {q: _copy(current[q]) for q in question_ids if q in current}

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

    async def lease(
        self, question_ids: Collection[str], now: datetime, until: datetime
    ) -> set[str]:
        current = self._current()
        taken = set()
        for question_id in question_ids:
            row = current.get(question_id)
            if row and row.status in OPEN and row.next_attempt_at and row.next_attempt_at <= now:
                self.staged[question_id] = DeliveryRow(
                    **{**row.model_dump(), "next_attempt_at": until}
                )
                taken.add(question_id)
        return taken

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
