"""The gateway's API schemas: their own classes, never the table or the aggregate."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from services.agency_gateway.domain.model import Status


class DeliveryPublic(BaseModel):
    question_id: str
    status: Status
    attempts: int
    agency: str
    case_type: str
    agency_reference: str | None
    last_error: str | None
    queued_at: datetime
    delivered_at: datetime | None
    next_attempt_at: datetime | None  # while open: the next try (or the end of a lease)


class DeliveryList(BaseModel):
    """``count`` is how many deliveries match the filters, ``data`` at most ``limit``."""

    data: list[DeliveryPublic]
    count: int
