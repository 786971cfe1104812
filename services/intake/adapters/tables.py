"""Intake's own tables beside the shared event store."""

from __future__ import annotations

from sqlmodel import Field, SQLModel

from services.intake.adapters.booking_tables import BOOKING_TABLES  # the calendar and bookings
from services.intake.adapters.overview_tables import OVERVIEW_TABLES  # the visit overview


class QuestionIndex(SQLModel, table=True):
    """Which visit a question belongs to, for routes that only name the question."""

    __tablename__ = "intake_questions"

    question_id: str = Field(primary_key=True, max_length=36)
    visit_id: str = Field(index=True, max_length=36)


class QueueTicketCounter(SQLModel, table=True):
    """Last ticket number issued per office, service day and queue (``A001``, ``B001``)."""

    __tablename__ = "intake_queue_tickets"

    office_id: str = Field(primary_key=True, max_length=60)
    service_day: str = Field(primary_key=True, max_length=10)
    queue: str = Field(primary_key=True, max_length=40)
    last_number: int = 0


INTAKE_TABLES = [QuestionIndex.__table__, QueueTicketCounter.__table__, *OVERVIEW_TABLES, *BOOKING_TABLES]
