"""Reporting's fact tables, read by BI tools with plain SQL (data dictionary:
docs/reporting.md). Dimensions, aggregates and cost tables are in ``bi_tables``.

No column holds question text, notes, reasons, handler names or identity numbers. Times
are UTC (``timestamptz`` on PostgreSQL); ``service_day`` is the local ``YYYY-MM-DD`` day
in the configured time zone.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, DateTime
from sqlmodel import Field, SQLModel

from services.reporting.adapters.day_tables import DAY_TABLES
from services.reporting.adapters.meeting_tables import MEETING_TABLES
from services.reporting.adapters.steering_tables import STEERING_TABLES


def _moment() -> datetime | None:
    return Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))


class ReportingVisit(SQLModel, table=True):
    """Fact: one row per visit."""

    __tablename__ = "reporting_visits"

    visit_id: str = Field(primary_key=True, max_length=36)
    office_id: str | None = Field(default=None, index=True, max_length=60)
    channel: str | None = Field(default=None, max_length=20)
    agency_hint: str | None = Field(default=None, max_length=40)
    service_day: str | None = Field(default=None, index=True, max_length=10)
    registered_hour: int | None = None
    registered_weekday: int | None = None
    registered_at: datetime | None = _moment()
    called_at: datetime | None = _moment()
    ended_at: datetime | None = _moment()
    wait_seconds: float | None = None
    service_seconds: float | None = None
    question_count: int = 0
    satisfaction_treatment: int | None = None
    satisfaction_time: int | None = None
    satisfaction_got_help: bool | None = None


class ReportingQuestion(SQLModel, table=True):
    """Fact: one row per question."""

    __tablename__ = "reporting_questions"

    question_id: str = Field(primary_key=True, max_length=36)
    visit_id: str = Field(index=True, max_length=36)
    office_id: str | None = Field(default=None, index=True, max_length=60)
    service_day: str | None = Field(default=None, index=True, max_length=10)
    recorded_at: datetime | None = _moment()
    hint_agency: str | None = Field(default=None, max_length=40)
    hint_case_type: str | None = Field(default=None, max_length=40)
    level: str | None = Field(default=None, max_length=10)
    agency: str | None = Field(default=None, index=True, max_length=40)
    case_type: str | None = Field(default=None, max_length=40)
    confidence: float | None = None
    destination: str | None = Field(default=None, max_length=20)
    needs_review: bool | None = None
    classified_at: datetime | None = _moment()
    classified_level: str | None = Field(default=None, max_length=10)
    classified_agency: str | None = Field(default=None, max_length=40)
    classified_case_type: str | None = Field(default=None, max_length=40)
    overridden: bool = False
    overridden_at: datetime | None = _moment()
    outcome: str | None = Field(default=None, max_length=10)
    routed_at: datetime | None = _moment()
    queued_at: datetime | None = _moment()
    delivery_status: str | None = Field(default=None, max_length=20)
    delivery_attempts: int = 0
    failed_attempts: int = 0
    agency_reference: str | None = Field(default=None, max_length=200)
    forwarded_at: datetime | None = _moment()
    dead_lettered_at: datetime | None = _moment()
    forward_seconds: float | None = None


FACT_TABLES = [ReportingVisit.__table__, ReportingQuestion.__table__, *DAY_TABLES, *STEERING_TABLES,
               *MEETING_TABLES]
