"""Event-sourced aggregate base: state is the fold of the aggregate's own events."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Self

from shared.events import DomainEvent


class Aggregate:
    """Collects pending events. Subclasses set empty state in ``init_state`` and change it,
    one event at a time, in ``apply``; they never change state any other way."""

    def __init__(self, aggregate_id: str) -> None:
        self.id = aggregate_id
        self.version = 0
        self.pending: list[DomainEvent] = []
        self.init_state()

    def init_state(self) -> None:
        """Set the state of an aggregate that has no events yet."""

    def apply(self, event: DomainEvent) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def trigger(self, event: DomainEvent) -> None:
        self.apply(event)
        self.version += 1
        self.pending.append(event)

    @classmethod
    def rehydrate(cls, aggregate_id: str, events: Iterable[DomainEvent]) -> Self:
        aggregate = cls(aggregate_id)
        for event in events:
            aggregate.apply(event)
            aggregate.version += 1
        return aggregate

    @property
    def exists(self) -> bool:
        return self.version > 0 or bool(self.pending)
