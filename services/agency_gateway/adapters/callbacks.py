"""Receipts of applied status callbacks (replay protection): Protocol, SQL, in-memory."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from sqlmodel.ext.asyncio.session import AsyncSession

from services.agency_gateway.adapters.tables import CallbackReceipt


class Callbacks(Protocol):
    async def seen(self, agency: str, callback_id: str) -> bool:
        """Has this agency's callback been applied already?"""

    def add(self, agency: str, callback_id: str, question_id: str, at: datetime) -> None:
        """Record it; written when the unit of work commits."""


class SqlCallbacks:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def seen(self, agency: str, callback_id: str) -> bool:
        return await self.session.get(CallbackReceipt, (agency, callback_id)) is not None

    def add(self, agency: str, callback_id: str, question_id: str, at: datetime) -> None:
        self.session.add(
            CallbackReceipt(
                agency=agency, callback_id=callback_id, question_id=question_id, received_at=at
            )
        )


@dataclass
class InMemoryCallbacks:
    rows: set[tuple[str, str]] = field(default_factory=set)
    staged: set[tuple[str, str]] = field(default_factory=set)

    async def seen(self, agency: str, callback_id: str) -> bool:
        return (agency, callback_id) in self.rows | self.staged

    def add(self, agency: str, callback_id: str, question_id: str, at: datetime) -> None:
        self.staged.add((agency, callback_id))

    def flush(self) -> None:
        self.rows |= self.staged
        self.staged.clear()

    def discard(self) -> None:
        self.staged.clear()
