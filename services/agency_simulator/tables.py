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


SIMULATOR_TABLES = [AgencyCounter.__table__, ReceivedCase.__table__]
