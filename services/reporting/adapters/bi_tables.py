"""Dimensions, daily aggregates, cost tables and bookkeeping of the reporting store.

Aggregates are rebuilt from the facts for every day a fact changed on (the days are
marked in ``reporting_dirty_days`` in the same transaction as the change), so they can
always be recomputed and never drift from the facts.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, DateTime
from sqlmodel import Field, SQLModel

from services.reporting.adapters.audit_log import AUDIT_TABLE
from services.reporting.adapters.tables import FACT_TABLES


class DimOffice(SQLModel, table=True):
    """Offices the facts name, with what the office registry says of them (null for an
    id the registry does not know: intake refuses those now, older events may have them)."""

    __tablename__ = "dim_office"

    office_id: str = Field(primary_key=True, max_length=60)
    name: str | None = Field(default=None, max_length=120)
    municipality: str | None = Field(default=None, max_length=120)
    county: str | None = Field(default=None, max_length=120)
    lead_agency: str | None = Field(default=None, max_length=40)
    first_day: str | None = Field(default=None, max_length=10)
    last_day: str | None = Field(default=None, max_length=10)
    has_cost_config: bool = False


class DimAgency(SQLModel, table=True):
    __tablename__ = "dim_agency"

    agency: str = Field(primary_key=True, max_length=40)
    name: str = Field(max_length=120)


class DimCaseType(SQLModel, table=True):
    __tablename__ = "dim_case_type"

    agency: str = Field(primary_key=True, max_length=40)
    case_type: str = Field(primary_key=True, max_length=40)
    name: str = Field(max_length=200)
    source_share_2014: float | None = None


class DimLevel(SQLModel, table=True):
    __tablename__ = "dim_level"

    level: str = Field(primary_key=True, max_length=10)
    description: str = Field(max_length=400)


class DimDestination(SQLModel, table=True):
    __tablename__ = "dim_destination"

    destination: str = Field(primary_key=True, max_length=20)
    description: str = Field(max_length=200)


class DimDate(SQLModel, table=True):
    __tablename__ = "dim_date"

    day: str = Field(primary_key=True, max_length=10)
    year: int
    quarter: int
    tertial: int
    month: str = Field(max_length=7)
    iso_week: str = Field(max_length=8)
    weekday: int
    is_weekend: bool


class AggOfficeDay(SQLModel, table=True):
    __tablename__ = "agg_office_day"

    service_day: str = Field(primary_key=True, max_length=10)
    office_id: str = Field(primary_key=True, max_length=60)
    visits: int
    kiosk_visits: int
    desk_visits: int
    visits_called: int
    visits_ended: int
    questions: int
    wait_seconds_sum: float
    wait_count: int
    service_seconds_sum: float
    service_count: int
    survey_answers: int
    satisfied_treatment: int
    satisfied_time: int
    got_help: int


class AggCaseTypeDay(SQLModel, table=True):
    __tablename__ = "agg_case_type_day"

    id: int | None = Field(default=None, primary_key=True)
    service_day: str = Field(index=True, max_length=10)
    office_id: str = Field(max_length=60)
    agency: str = Field(max_length=40)
    case_type: str | None = Field(default=None, max_length=40)
    level: str | None = Field(default=None, max_length=10)
    questions: int
    overridden: int
    routed: int
    to_agency_system: int
    to_agency_desk: int
    to_video_meeting: int
    to_booked_meeting: int
    delivered: int
    dead_lettered: int
    delivery_attempts: int
    failed_attempts: int
    forward_seconds_sum: float
    forward_count: int


class CostOfficePeriod(SQLModel, table=True):
    __tablename__ = "cost_office_period"

    office_id: str = Field(primary_key=True, max_length=60)
    period_from: str = Field(primary_key=True, max_length=10)
    period_to: str = Field(primary_key=True, max_length=10)
    fixed_sek: float
    variable_sek: float
    sharing_agencies: int


class CostSharingAgency(SQLModel, table=True):
    __tablename__ = "cost_sharing_agency"

    office_id: str = Field(primary_key=True, max_length=60)
    agency: str = Field(primary_key=True, max_length=40)


class CostAllocation(SQLModel, table=True):
    __tablename__ = "cost_allocation"

    office_id: str = Field(primary_key=True, max_length=60)
    period_from: str = Field(primary_key=True, max_length=10)
    period_to: str = Field(primary_key=True, max_length=10)
    agency: str = Field(primary_key=True, max_length=40)
    questions: int
    mix_share: float
    fixed_sek: float
    variable_sek: float
    total_sek: float
    variable_basis: str = Field(max_length=12)


class DirtyDay(SQLModel, table=True):
    """A day whose aggregates must be rebuilt; ``generation`` rises with every mark, so a
    rebuild clears only the marks it has seen."""

    __tablename__ = "reporting_dirty_days"

    service_day: str = Field(primary_key=True, max_length=10)
    generation: int = 1


class ReplayRun(SQLModel, table=True):
    __tablename__ = "reporting_replays"

    id: int | None = Field(default=None, primary_key=True)
    started_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    finished_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    events_read: int
    events_applied: int
    events_invalid: int
    visits: int
    questions: int


DIMENSION_TABLES = [t.__table__ for t in (DimOffice, DimAgency, DimCaseType, DimLevel,
                                          DimDestination, DimDate)]
AGGREGATE_TABLES = [AggOfficeDay.__table__, AggCaseTypeDay.__table__]
COST_TABLES = [CostOfficePeriod.__table__, CostSharingAgency.__table__, CostAllocation.__table__]
REPORTING_TABLES = [
    *FACT_TABLES, *DIMENSION_TABLES, *AGGREGATE_TABLES, *COST_TABLES,
    DirtyDay.__table__, ReplayRun.__table__, AUDIT_TABLE,
]
# What the export endpoint offers, by name (never the audit log: it names people).
EXPORTABLE = {t.name: t for t in [*FACT_TABLES, *DIMENSION_TABLES, *AGGREGATE_TABLES, *COST_TABLES]}
