"""The office day's fact tables (data dictionary: docs/reporting.md, "The office day").

Queue codes, desk ids and times only: no handler name, no ticket, nothing personal.
Times are UTC; ``service_day`` is the local day, hours and weekdays local too.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, DateTime
from sqlmodel import Field, SQLModel


def _moment(primary_key: bool = False) -> datetime | None:
    return Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=primary_key is False,
                                                 primary_key=primary_key))


class ReportingQueueEvent(SQLModel, table=True):
    """Fact: one row per queue event of a visit (what the flow and steps derive from)."""

    __tablename__ = "reporting_queue_events"

    visit_id: str = Field(primary_key=True, max_length=36)
    kind: str = Field(primary_key=True, max_length=12)
    at: datetime = _moment(primary_key=True)
    office_id: str | None = Field(default=None, max_length=60)
    queue: str | None = Field(default=None, max_length=40)
    desk: str | None = Field(default=None, max_length=40)
    to_queue: str | None = Field(default=None, max_length=40)
    channel: str | None = Field(default=None, max_length=20)


class ReportingVisitFlow(SQLModel, table=True):
    """Fact: one row per visit: its way through the office's queues."""

    __tablename__ = "reporting_visit_flow"

    visit_id: str = Field(primary_key=True, max_length=36)
    office_id: str | None = Field(default=None, index=True, max_length=60)
    channel: str | None = Field(default=None, max_length=20)
    queue: str | None = Field(default=None, max_length=40)
    service_day: str | None = Field(default=None, index=True, max_length=10)
    registered_hour: int | None = None
    registered_weekday: int | None = None
    registered_at: datetime | None = _moment()
    first_called_at: datetime | None = _moment()
    ended_at: datetime | None = _moment()
    wait_seconds: float | None = None
    service_seconds: float | None = None
    service_steps: int = 0
    recalls: int = 0
    transfers: int = 0
    no_show: bool = False


class ReportingServiceStep(SQLModel, table=True):
    """Fact: one row per service step (a call, until the end, a transfer or a no-show)."""

    __tablename__ = "reporting_service_steps"

    visit_id: str = Field(primary_key=True, max_length=36)
    step: int = Field(primary_key=True)
    office_id: str | None = Field(default=None, index=True, max_length=60)
    queue: str | None = Field(default=None, max_length=40)
    desk: str | None = Field(default=None, max_length=40)
    waiting_since: datetime | None = _moment()
    called_at: datetime | None = _moment()
    service_day: str | None = Field(default=None, index=True, max_length=10)
    called_hour: int | None = None
    called_weekday: int | None = None
    ended_at: datetime | None = _moment()
    end_reason: str | None = Field(default=None, max_length=12)
    wait_seconds: float | None = None
    service_seconds: float | None = None
    recalls: int = 0


class ReportingDeskSession(SQLModel, table=True):
    """Fact: one row per desk session (DeskOpened → DeskClosed): staffed desk time."""

    __tablename__ = "reporting_desk_sessions"

    office_id: str = Field(primary_key=True, max_length=60)
    desk: str = Field(primary_key=True, max_length=40)
    opened_at: datetime = _moment(primary_key=True)
    service_day: str | None = Field(default=None, index=True, max_length=10)
    queues: str | None = Field(default=None, max_length=400)
    closed_at: datetime | None = _moment()
    staffed_seconds: float | None = None


DAY_TABLES = [ReportingQueueEvent.__table__, ReportingVisitFlow.__table__,
              ReportingServiceStep.__table__, ReportingDeskSession.__table__]
