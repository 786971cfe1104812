"""The steering figures' own fact tables (data dictionary: docs/reporting.md, "Steering").

``reporting_person_links`` holds the person pseudonym intake derived with its key; no
identity number ever reaches reporting, and an erased visit has no row here.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, DateTime
from sqlmodel import Field, SQLModel


class ReportingWaitEstimate(SQLModel, table=True):
    """Fact: the wait the kiosk showed the visitor when the ticket was taken."""

    __tablename__ = "reporting_wait_estimates"

    visit_id: str = Field(primary_key=True, max_length=36)
    estimated_wait_minutes: float


class ReportingPersonLink(SQLModel, table=True):
    """Fact: a question asked with an identity number, by the person's pseudonym."""

    __tablename__ = "reporting_person_links"

    question_id: str = Field(primary_key=True, max_length=36)
    visit_id: str = Field(index=True, max_length=36)
    person_pseudonym: str = Field(index=True, max_length=64)


class ReportingAgencyDecision(SQLModel, table=True):
    """Fact: when the agency reported a forwarded case decided (or closed)."""

    __tablename__ = "reporting_agency_decisions"

    question_id: str = Field(primary_key=True, max_length=36)
    visit_id: str = Field(max_length=36)
    agency: str = Field(max_length=40)
    decided_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


STEERING_TABLES = [ReportingWaitEstimate.__table__, ReportingPersonLink.__table__,
                   ReportingAgencyDecision.__table__]
