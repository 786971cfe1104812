"""Reporting's API schemas: their own classes, never the tables'."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel


class VisitRowBase(BaseModel):
    visits: int
    questions: int
    visits_ended: int
    median_wait_seconds: float | None
    median_service_seconds: float | None


class DayVisitsRow(VisitRowBase):
    day: str


class OfficeVisitsRow(VisitRowBase):
    office_id: str


class AgencyVisitsRow(VisitRowBase):
    """Visits with at least one question classified to the agency, and those questions."""

    agency: str


class VisitStats(BaseModel):
    rows: list[DayVisitsRow | OfficeVisitsRow | AgencyVisitsRow]


class CaseTypeRow(BaseModel):
    """``None`` in a key the request did not group by."""

    agency: str | None
    case_type: str | None
    level: str | None
    questions: int
    share: float


class CaseTypeStats(BaseModel):
    rows: list[CaseTypeRow]


class QuestionsByLevel(BaseModel):
    general: int
    in_depth: int
    complex: int


class Summary(BaseModel):
    visits: int
    visits_ended: int
    questions: int
    questions_by_level: QuestionsByLevel
    unclassified: int
    cases_routed: int
    cases_delivered: int


class AuditRow(BaseModel):
    """Who did what, when: ``subject`` is the question id (override, replay), the visit
    id (erasure) or the table (export)."""

    id: int
    occurred_at: datetime
    action: str
    actor: str
    subject: str
    details: dict[str, Any]
    event_id: str


class AuditPage(BaseModel):
    rows: list[AuditRow]
    total: int
    limit: int
    offset: int
