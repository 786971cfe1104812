"""The office day's write side in the fake unit of work: a visit's queue log, its derived
flow and steps, and desk sessions (commit and rollback like the database). The SQL side
is ``adapters.projection``, a batch at a time."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Protocol

from services.reporting.domain.day import Derived, DeskSession, QueueEvent


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
