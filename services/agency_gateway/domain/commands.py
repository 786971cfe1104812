"""Commands the gateway accepts from people and agencies: imperative, validated at the
edge (the API), handled by ``handlers``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from services.agency_gateway.domain.events import AgencyStatus


@dataclass(frozen=True)
class ReplayDeadLetter:
    question_id: str
    actor: str
    reason: str | None = None


@dataclass(frozen=True)
class ReplayDeadLetters:
    """Every dead letter (of one agency, if named), at most ``limit``."""

    actor: str
    reason: str | None = None
    agency: str | None = None
    limit: int = 1000


@dataclass(frozen=True)
class RecordAgencyUpdate:
    """A status callback whose signature and timestamp have been checked."""

    agency: str
    callback_id: str
    case_id: str
    status: AgencyStatus
    reference: str | None
    note: str | None
    occurred_at: datetime
