"""The steering facts' write side: a port, its SQL adapter and an in-memory fake."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Protocol

from sqlalchemy import delete, insert, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from services.reporting.adapters.audit_log import AUDIT_TABLE
from services.reporting.adapters.steering_tables import (
    ReportingAgencyDecision,
    ReportingPersonLink,
    ReportingWaitEstimate,
)
from services.reporting.domain.model import as_utc
from services.reporting.domain.steering_rules import AgencyDecision, PersonLink

ESTIMATES, LINKS = ReportingWaitEstimate.__table__, ReportingPersonLink.__table__
DECISIONS = ReportingAgencyDecision.__table__


class SteeringRepository(Protocol):
    async def save_estimate(self, visit_id: str, minutes: float) -> None: ...

    async def is_erased(self, visit_id: str) -> bool:
        """The visit's personal data was erased (its erasure is in the audit log)."""

    async def save_link(self, link: PersonLink) -> None: ...

    async def erase_links(self, visit_id: str) -> None: ...

    async def save_decision(self, decision: AgencyDecision) -> None:
        """Keep the earliest decision of the question."""


class SqlSteering:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def _put(self, table, key, values: dict) -> None:
        await self.session.exec(delete(table).where(key))
        await self.session.exec(insert(table).values(**values))

    async def save_estimate(self, visit_id: str, minutes: float) -> None:
        await self._put(ESTIMATES, ESTIMATES.c.visit_id == visit_id,
                        {"visit_id": visit_id, "estimated_wait_minutes": minutes})

    async def is_erased(self, visit_id: str) -> bool:
        found = select(AUDIT_TABLE.c.event_id).where(
            AUDIT_TABLE.c.action == "erasure", AUDIT_TABLE.c.subject == visit_id).limit(1)
        return (await self.session.exec(found)).first() is not None

    async def save_link(self, link: PersonLink) -> None:
        await self._put(LINKS, LINKS.c.question_id == link.question_id, asdict(link))

    async def erase_links(self, visit_id: str) -> None:
        await self.session.exec(delete(LINKS).where(LINKS.c.visit_id == visit_id))

    async def save_decision(self, decision: AgencyDecision) -> None:
        key = DECISIONS.c.question_id == decision.question_id
        found = (await self.session.exec(select(DECISIONS.c.decided_at).where(key))).first()
        if found is None:
            await self.session.exec(insert(DECISIONS).values(**asdict(decision)))
        elif as_utc(found[0]) > decision.decided_at:
            await self.session.exec(update(DECISIONS).where(key).values(decided_at=decision.decided_at))


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
