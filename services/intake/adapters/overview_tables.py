"""The visit overview's tables in intake's database (``domain/overview.py``):
routing's decision and the gateway's delivery of each question, one row each."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Column, Text
from sqlmodel import Field, SQLModel, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.intake.domain.overview import DecisionView, DeliveryView


class _QuestionRow(SQLModel):
    """One question's row: which visit, and the version of its source stream applied."""

    question_id: str = Field(primary_key=True, max_length=36)
    visit_id: str = Field(index=True, max_length=36)
    version: int = 0


class OverviewDecisionRow(_QuestionRow, table=True):
    __tablename__ = "intake_overview_decisions"

    level: str = Field(default="", max_length=20)
    agency: str = Field(default="", max_length=60)
    case_type: str = Field(default="", max_length=60)
    confidence: float = 0.0
    explanation: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    destination: str = Field(default="", max_length=30)
    destination_reason: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    needs_review: bool = False
    overridden: bool = False
    classified: bool = False
    routed_agency: str | None = Field(default=None, max_length=60)


class OverviewDeliveryRow(_QuestionRow, table=True):
    __tablename__ = "intake_overview_deliveries"

    status: str = Field(default="pending", max_length=20)
    attempts: int = 0
    agency: str = Field(default="", max_length=60)
    agency_reference: str | None = Field(default=None, max_length=200)
    agency_status: str | None = Field(default=None, max_length=20)
    agency_note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    agency_status_at: datetime | None = None


OVERVIEW_TABLES = [OverviewDecisionRow.__table__, OverviewDeliveryRow.__table__]


class SqlVisitOverview:
    """The overview's repository on a unit of work's session (the consumer's transaction:
    rows, inbox and position commit together)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        # Rows this transaction loaded or added: a batch may touch one question twice.
        self._rows: dict[tuple[type, str], Any] = {}

    @classmethod
    def of(cls, uow: Any) -> SqlVisitOverview:
        """The repository of a (open) SQL unit of work: kept on it, one per transaction."""
        repo = getattr(uow, "_visit_overview", None)
        if repo is None or repo.session is not uow.session:
            repo = cls(uow.session)
            uow._visit_overview = repo
        return repo

    async def _row(self, model: type, question_id: str, visit_id: str) -> Any:
        key = (model, question_id)
        if key not in self._rows:
            row = await self.session.get(model, question_id)
            if row is None:
                row = model(question_id=question_id, visit_id=visit_id)
                self.session.add(row)
            self._rows[key] = row
        return self._rows[key]

    async def decision(self, question_id: str, visit_id: str) -> DecisionView:
        row = await self._row(OverviewDecisionRow, question_id, visit_id)
        return DecisionView(**row.model_dump())

    async def delivery(self, question_id: str, visit_id: str) -> DeliveryView:
        row = await self._row(OverviewDeliveryRow, question_id, visit_id)
        return DeliveryView(**row.model_dump())

    def save_decision(self, view: DecisionView) -> None:
        self._rows[(OverviewDecisionRow, view.question_id)].sqlmodel_update(asdict(view))

    def save_delivery(self, view: DeliveryView) -> None:
        self._rows[(OverviewDeliveryRow, view.question_id)].sqlmodel_update(asdict(view))

    async def of_visit(self, visit_id: str) -> tuple[dict[str, DecisionView], dict[str, DeliveryView]]:
        decisions = await self.session.exec(select(OverviewDecisionRow).where(OverviewDecisionRow.visit_id == visit_id))
        deliveries = await self.session.exec(select(OverviewDeliveryRow).where(OverviewDeliveryRow.visit_id == visit_id))
        return (
            {r.question_id: DecisionView(**r.model_dump()) for r in decisions.all()},
            {r.question_id: DeliveryView(**r.model_dump()) for r in deliveries.all()},
        )


@dataclass
class InMemoryVisitOverview:
    """The fake for unit tests: the same contract on two dictionaries."""

    decisions: dict[str, DecisionView] = field(default_factory=dict)
    deliveries: dict[str, DeliveryView] = field(default_factory=dict)

    async def decision(self, question_id: str, visit_id: str) -> DecisionView:
        found = self.decisions.get(question_id)
        return DecisionView(**asdict(found)) if found else DecisionView(question_id, visit_id)

    async def delivery(self, question_id: str, visit_id: str) -> DeliveryView:
        found = self.deliveries.get(question_id)
        return DeliveryView(**asdict(found)) if found else DeliveryView(question_id, visit_id)

    def save_decision(self, view: DecisionView) -> None:
        self.decisions[view.question_id] = view

    def save_delivery(self, view: DeliveryView) -> None:
        self.deliveries[view.question_id] = view

    async def of_visit(self, visit_id: str) -> tuple[dict[str, DecisionView], dict[str, DeliveryView]]:
        return (
            {q: v for q, v in self.decisions.items() if v.visit_id == visit_id},
            {q: v for q, v in self.deliveries.items() if v.visit_id == visit_id},
        )
