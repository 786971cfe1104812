"""The gateway's API schemas: their own classes, never the table or the aggregate."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from services.agency_gateway.domain.events import AgencyMeetingStatus, AgencyStatus
from services.agency_gateway.domain.model import CLOCK_SKEW, Status
from shared.personal_data import scrub_text


class DeliveryPublic(BaseModel):
    question_id: str  # for a booking's delivery: the delivery id (docs/bookings.md)
    kind: str | None = "case"  # case | meeting | meeting_move | meeting_cancellation
    status: Status
    attempts: int
    agency: str
    case_type: str
    agency_reference: str | None
    last_error: str | None
    queued_at: datetime
    delivered_at: datetime | None
    next_attempt_at: datetime | None  # while open: the next try (or the end of a lease)


class HistoryEntry(BaseModel):
    """One event of the delivery: ``event`` is its type (e.g. ``CaseForwardingFailed``),
    ``details`` its fields other than the ids (attempt, reason, actor, status...)."""

    event: str
    at: datetime
    details: dict[str, Any]


class DeliveryDetail(DeliveryPublic):
    agency_status: AgencyStatus | None  # what the agency last reported
    agency_status_at: datetime | None
    replays: int
    history: list[HistoryEntry]


class DeliveryList(BaseModel):
    """``count`` is how many deliveries match the filters, ``data`` at most ``limit``."""

    data: list[DeliveryPublic]
    count: int


class DeadLetterDetail(DeliveryDetail):
    held_fields: list[str]  # names of the case fields kept for a replay (never the values)


class ReplayCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # Ignored (kept so older clients' bodies stay valid): the token's subject is recorded.
    actor: str | None = Field(default=None, min_length=1, max_length=80)
    # Free text, recorded in the DeadLetterReplayed event: masked where it enters.
    reason: str | None = Field(default=None, max_length=500)

    @field_validator("reason")
    @classmethod
    def _masked(cls, reason: str | None) -> str | None:
        return scrub_text(reason) if reason else reason


class ReplayAllCreate(ReplayCreate):
    agency: str | None = Field(default=None, pattern=r"^[a-z_]{2,40}$")
    limit: int = Field(default=1000, ge=1, le=10_000)


class Replayed(BaseModel):
    question_ids: list[str]
    count: int
    actor: str


class SignedCallbackIn(BaseModel):
    """What every agency callback has (see docs/agency-api.md)."""

    model_config = ConfigDict(extra="forbid")
    callback_id: str = Field(min_length=1, max_length=200)
    reference: str | None = Field(default=None, max_length=200)
    note: str | None = Field(default=None, max_length=2000)
    # With its offset; at most CLOCK_SKEW ahead of the gateway's clock (and, checked
    # against the case, not more than CLOCK_SKEW before it was queued for delivery).
    occurred_at: AwareDatetime

    @field_validator("occurred_at")
    @classmethod
    def _not_in_the_future(cls, occurred_at: datetime) -> datetime:
        return not_in_the_future(occurred_at)


class CallbackIn(SignedCallbackIn):
    """A status callback from an agency about a case."""

    case_id: str = Field(min_length=1, max_length=200)
    status: AgencyStatus


def not_in_the_future(occurred_at: datetime) -> datetime:
    # Compared, never converted: converting 9999-12-31T23:59-23:59 to UTC overflows.
    if occurred_at > datetime.now(UTC) + CLOCK_SKEW:
        raise ValueError(
            f"occurred_at is in the future (more than {CLOCK_SKEW.seconds // 60} minutes "
            "ahead of the gateway's clock)"
        )
    return occurred_at


class CallbackAccepted(BaseModel):
    accepted: bool
    duplicate: bool  # true: this callback_id was applied before; nothing changed


class MeetingCallbackIn(SignedCallbackIn):
    """An agency accepted, moved (``slot_start``: the new time) or cancelled a meeting."""

    booking_id: str = Field(min_length=1, max_length=36)
    status: AgencyMeetingStatus
    slot_start: AwareDatetime | None = None

    @model_validator(mode="after")
    def _moved_says_when(self) -> MeetingCallbackIn:
        if (self.status == "moved") != (self.slot_start is not None):
            raise ValueError("slot_start is required when (and only when) status is moved")
        return self


class SlotsIn(BaseModel):
    """Slots an agency publishes (docs/agency-api.md): every start at every office named.
    ``publication_id``, when given, makes a repeat harmless."""

    model_config = ConfigDict(extra="forbid")
    publication_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.:-]{1,36}$")
    agency: str = Field(pattern=r"^[a-z_]{2,40}$")
    case_types: list[str] = Field(min_length=1, max_length=20)
    kind: Literal["video", "in_person"]
    office_ids: list[str] = Field(min_length=1, max_length=50)
    starts: list[AwareDatetime] = Field(min_length=1, max_length=500)
    length_minutes: int = Field(ge=5, le=480)


class SlotsAccepted(BaseModel):
    publication_id: str
    slots: int  # starts x offices
    duplicate: bool = False
