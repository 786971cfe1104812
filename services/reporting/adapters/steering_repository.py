"""The steering facts' write side in the fake unit of work (the SQL side is
``adapters.projection``, a batch at a time)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from services.reporting.domain.steering_rules import AgencyDecision, PersonLink


class SteeringRepository(Protocol):
    async def save_estimate(self, visit_id: str, minutes: float) -> None: ...

    async def is_erased(self, visit_id: str) -> bool:
        """The visit's personal data was erased (its erasure is in the audit log)."""

    async def save_link(self, link: PersonLink) -> None: ...

    async def erase_links(self, visit_id: str) -> None: ...

    async def save_decision(self, decision: AgencyDecision) -> None:
        """Keep the earliest decision of the question."""


@dataclass
class InMemorySteeringStore:
    estimates: dict[str, float] = field(default_factory=dict)
    links: dict[str, PersonLink] = field(default_factory=dict)
    erased: set[str] = field(default_factory=set)
    decisions: dict[str, AgencyDecision] = field(default_factory=dict)


class InMemorySteering:
    """Writes straight to a staged copy; ``flush`` commits, ``discard`` drops."""

    def __init__(self, store: InMemorySteeringStore) -> None:
        self.store = store
        self.discard()

    async def save_estimate(self, visit_id: str, minutes: float) -> None:
        self.staged.estimates[visit_id] = minutes

    async def is_erased(self, visit_id: str) -> bool:
        return visit_id in self.staged.erased

    async def save_link(self, link: PersonLink) -> None:
        self.staged.links[link.question_id] = link

    async def erase_links(self, visit_id: str) -> None:
        self.staged.erased.add(visit_id)
        self.staged.links = {q: k for q, k in self.staged.links.items() if k.visit_id != visit_id}

    async def save_decision(self, decision: AgencyDecision) -> None:
        found = self.staged.decisions.get(decision.question_id)
        if found is None or found.decided_at > decision.decided_at:
            self.staged.decisions[decision.question_id] = decision

    def flush(self) -> None:
        s = self.staged
        self.store.estimates, self.store.links = s.estimates, s.links
        self.store.erased, self.store.decisions = s.erased, s.decisions
        self.discard()

    def discard(self) -> None:
        s = self.store
        self.staged = InMemorySteeringStore(dict(s.estimates), dict(s.links), set(s.erased), dict(s.decisions))
