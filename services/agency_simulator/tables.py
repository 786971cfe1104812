"""The simulator's tables: what each agency has received. Neither the question text
nor the identity number is stored: the simulator only needs to recognise a case."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel


class AgencyCounter(SQLModel, table=True):
    __tablename__ = "agency_sim_counters"

    agency: str = Field(primary_key=True, max_length=40)
    requests: int = 0
    cases: int = 0


class ReceivedCase(SQLModel, table=True):
    """One row per Idempotency-Key: the agency's de-duplication."""

    __tablename__ = "agency_sim_cases"

    idempotency_key: str = Field(primary_key=True, max_length=200)
    agency: str = Field(max_length=40, index=True)
    case_type: str = Field(max_length=40)
    reference: str = Field(max_length=40)
    received_at: datetime
    last_received_at: datetime
    times_received: int = 1


class ReceivedMeeting(SQLModel, table=True):
    """One row per booking the gateway sent (its Idempotency-Key is the booking id), with
    where the meeting stands at the agency. No identity number, name or phone."""

    __tablename__ = "agency_sim_meetings"

    booking_id: str = Field(primary_key=True, max_length=200)
    agency: str = Field(max_length=40, index=True)
    case_type: str = Field(max_length=40)
    reference: str = Field(max_length=40)
    slot_start: datetime
    status: str = Field(default="accepted", max_length=20)  # accepted | moved | cancelled
    received_at: datetime
    times_received: int = 1


class MeetingChange(SQLModel, table=True):
    """A move or cancellation the gateway sent, one row per Idempotency-Key."""

    __tablename__ = "agency_sim_meeting_changes"

    idempotency_key: str = Field(primary_key=True, max_length=200)
    booking_id: str = Field(max_length=200, index=True)
    change: str = Field(max_length=20)  # move | cancellation
    received_at: datetime
    times_received: int = 1


SIMULATOR_TABLES = [
    AgencyCounter.__table__,
    ReceivedCase.__table__,
    ReceivedMeeting.__table__,
    MeetingChange.__table__,
]
