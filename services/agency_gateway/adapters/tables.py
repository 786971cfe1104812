"""The gateway's own tables beside the shared event store.

``gateway_deliveries`` is the delivery read model and the work queue in one: the worker
picks rows whose ``next_attempt_at`` has come, so the retry schedule survives restarts.
``case_payload`` is the only place the gateway keeps the question text and identity
number (or a booking's sealed identity number, name and phone); it is erased once the
agency has the case (the meeting).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Column, DateTime, Index, String, Text
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel


class UtcDateTime(TypeDecorator):
    """Timezone-aware UTC in, timezone-aware UTC out, on SQLite (which keeps no zone)
    as on PostgreSQL (``timestamptz``). Comparisons stay correct on both."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None or value.tzinfo is not None:
            return value
        return value.replace(tzinfo=UTC)


class DeliveryRow(SQLModel, table=True):
    __tablename__ = "gateway_deliveries"
    __table_args__ = (
        Index("ix_gateway_deliveries_due", "status", "next_attempt_at"),
        Index("ix_gateway_deliveries_agency", "agency", "status"),
    )

    question_id: str = Field(primary_key=True, max_length=36)
    visit_id: str = Field(max_length=36)
    office_id: str = Field(max_length=60)
    agency: str = Field(max_length=40)
    case_type: str = Field(max_length=40)
    status: str = Field(default="pending", max_length=20)
    attempts: int = 0
    agency_reference: str | None = Field(default=None, max_length=200)
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    next_attempt_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime))
    queued_at: datetime = Field(sa_column=Column(UtcDateTime, nullable=False))
    delivered_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime))
    case_payload: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # case | meeting | meeting_move | meeting_cancellation; NULL (a row older than
    # meetings, on SQLite) is a case. ``question_id`` is then the delivery id.
    kind: str | None = Field(
        default="case", sa_column=Column(String(30), nullable=True, server_default="case")
    )
    # W3C context (JSON) of the span that queued it: the agency call joins that trace.
    trace: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class CallbackReceipt(SQLModel, table=True):
    """One row per status callback applied: a repeat of ``(agency, callback_id)`` is a
    replay and changes nothing (written in the transaction that records the event)."""

    __tablename__ = "gateway_agency_callbacks"

    agency: str = Field(primary_key=True, max_length=40)
    callback_id: str = Field(primary_key=True, max_length=200)
    question_id: str = Field(max_length=36)
    received_at: datetime = Field(sa_column=Column(UtcDateTime, nullable=False))


GATEWAY_TABLES = [DeliveryRow.__table__, CallbackReceipt.__table__]
