"""The office day's write side: a visit's queue log, its derived flow and steps, and desk
sessions. A port, its SQL adapter and an in-memory fake (commit and rollback like the
database)."""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime
from typing import Protocol

from sqlalchemy import delete, insert, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.reporting.adapters.day_tables import (
    ReportingDeskSession,
    ReportingQueueEvent,
    ReportingServiceStep,
    ReportingVisitFlow,
)
from services.reporting.domain.day import Derived, DeskSession, QueueEvent
from services.reporting.domain.model import as_utc

EVENTS, FLOW = ReportingQueueEvent.__table__, ReportingVisitFlow.__table__
STEPS, SESSIONS = ReportingServiceStep.__table__, ReportingDeskSession.__table__


class DayRepository(Protocol):
    async def queue_log(self, visit_id: str) -> list[QueueEvent]:
        """The visit's stored queue events."""

    async def add_queue_event(self, event: QueueEvent) -> None:
        """Store the event unless one of its kind and time is stored already."""

    async def save_derived(self, derived: Derived) -> None:
        """Replace the visit's flow row and its service steps."""

    async def desk_sessions(self, office_id: str, desk: str) -> list[DeskSession]:
        """The desk's stored sessions."""

    async def save_session(self, session: DeskSession) -> None:
        """Insert or overwrite the session (keyed by office, desk and opening time)."""


def _utc(values: dict) -> dict:
    return {k: as_utc(v) if isinstance(v, datetime) else v for k, v in values.items()}


def _record(row, cls):
    return cls(**_utc({f.name: row._mapping[f.name] for f in fields(cls)}))


class SqlDay:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def _rows(self, statement) -> list:
        return list((await self.session.exec(statement)).all())

    async def queue_log(self, visit_id: str) -> list[QueueEvent]:
        rows = await self._rows(select(EVENTS).where(EVENTS.c.visit_id == visit_id))
        return [_record(r, QueueEvent) for r in rows]

    async def add_queue_event(self, event: QueueEvent) -> None:
        known = {e.key for e in await self.queue_log(event.visit_id)}
        if event.key not in known:
            await self.session.exec(insert(EVENTS).values(**asdict(event)))

    async def save_derived(self, derived: Derived) -> None:
        visit_id = derived.flow.visit_id
        await self.session.exec(delete(FLOW).where(FLOW.c.visit_id == visit_id))
        await self.session.exec(delete(STEPS).where(STEPS.c.visit_id == visit_id))
        await self.session.exec(insert(FLOW).values(**asdict(derived.flow)))
        for step in derived.steps:
            await self.session.exec(insert(STEPS).values(**asdict(step)))

    async def desk_sessions(self, office_id: str, desk: str) -> list[DeskSession]:
        where = (SESSIONS.c.office_id == office_id, SESSIONS.c.desk == desk)
        return [_record(r, DeskSession) for r in await self._rows(select(SESSIONS).where(*where))]

    async def save_session(self, session: DeskSession) -> None:
        key = (SESSIONS.c.office_id == session.office_id, SESSIONS.c.desk == session.desk,
               SESSIONS.c.opened_at == session.opened_at)
        await self.session.exec(delete(SESSIONS).where(*key))
        await self.session.exec(insert(SESSIONS).values(**asdict(session)))


@dataclass
class InMemoryDayStore:
    """The fake's committed 'database'."""

    events: dict[str, dict[tuple, QueueEvent]] = field(default_factory=dict)
    derived: dict[str, Derived] = field(default_factory=dict)
    sessions: dict[tuple, DeskSession] = field(default_factory=dict)


class InMemoryDay:
    """Stages changes; ``flush`` commits them, ``discard`` drops them."""

    def __init__(self, store: InMemoryDayStore) -> None:
        self.store = store
        self.staged = InMemoryDayStore()

    async def queue_log(self, visit_id: str) -> list[QueueEvent]:
        merged = {**self.store.events.get(visit_id, {}), **self.staged.events.get(visit_id, {})}
        return list(merged.values())

    async def add_queue_event(self, event: QueueEvent) -> None:
        self.staged.events.setdefault(event.visit_id, {}).setdefault(event.key, event)

    async def save_derived(self, derived: Derived) -> None:
        self.staged.derived[derived.flow.visit_id] = copy.deepcopy(derived)

    async def desk_sessions(self, office_id: str, desk: str) -> list[DeskSession]:
        merged = {**self.store.sessions, **self.staged.sessions}
        return [copy.deepcopy(s) for (o, d, _), s in merged.items() if (o, d) == (office_id, desk)]

    async def save_session(self, session: DeskSession) -> None:
        key = (session.office_id, session.desk, session.opened_at)
        self.staged.sessions[key] = copy.deepcopy(session)

    def flush(self) -> None:
        for visit_id, events in self.staged.events.items():
            self.store.events.setdefault(visit_id, {}).update(events)
        self.store.derived.update(self.staged.derived)
        self.store.sessions.update(self.staged.sessions)
        self.discard()

    def discard(self) -> None:
        self.staged = InMemoryDayStore()
