"""Intake's API schemas: their own classes, never the domain's or the tables'.

Personal data is stopped here, where it enters: free text (a question, a resolution note)
is masked (``shared.input_checks.free_text``: identity numbers, phone numbers, e-mail
addresses), desk names, which are identifiers shown on the public display, refuse it
(422). Only the identity-number field carries one in clear, to be sealed by the vault."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from shared.input_checks import REFUSE_PERSONAL_DATA, free_text

Code = Annotated[str, StringConstraints(pattern=r"^[a-z_]{2,40}$")]
OfficeId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{1,59}$")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class VisitCreate(Strict):
    office_id: OfficeId
    channel: Literal["kiosk", "desk", "self_service"]
    agency: Code | None = None
    queue: Annotated[str, StringConstraints(pattern=r"^[a-z_]{2,40}$")] | None = None


class VisitCreated(BaseModel):
    visit_id: str
    ticket: str
    queue: str
    position: int | None
    estimated_wait_minutes: float | None
    registered_at: datetime


class CallCreate(Strict):
    desk: Annotated[
        str, StringConstraints(min_length=1, max_length=40, strip_whitespace=True), REFUSE_PERSONAL_DATA
    ]


class QuestionCreate(Strict):
    text: free_text(max_length=4000, min_length=1)  # type: ignore[valid-type]
    agency: Code | None = None
    case_type: Code | None = None
    # Validated and sealed by the handler (``normalise_pin``: fullwidth digits and dashes
    # are normalised to ASCII first, as the masking does).
    personal_identity_number: Annotated[str, StringConstraints(max_length=20)] | None = None


class QuestionCreated(BaseModel):
    question_id: str
    visit_id: str


class ResolutionCreate(Strict):
    outcome: Literal["answered", "forwarded", "referred"]
    note: free_text(max_length=2000) | None = None  # type: ignore[valid-type]


class SatisfactionIn(Strict):
    treatment: int = Field(ge=1, le=5, strict=True)
    time: int = Field(ge=1, le=5, strict=True)
    got_help: bool = Field(strict=True)


class VisitEnd(Strict):
    satisfaction: SatisfactionIn | None = None


class Ack(BaseModel):
    visit_id: str
    status: str


class QuestionPublic(BaseModel):
    question_id: str
    text: str
    agency: str | None
    case_type: str | None
    has_personal_identity_number: bool
    recorded_at: datetime
    outcome: str | None
    resolved_at: datetime | None


class VisitPublic(BaseModel):
    visit_id: str
    office_id: str
    channel: str
    agency: str | None
    ticket: str
    queue: str
    status: str
    service_day: str
    registered_at: datetime
    desk: str | None
    called_at: datetime | None
    ended_at: datetime | None
    satisfaction: dict | None
    questions: list[QuestionPublic]


class PersonalDataErasure(BaseModel):
    """The answer to an erasure: ``key_destroyed`` is False when the visit had no data
    key (no identity number was given, or it was erased before); the erasure is recorded
    either way."""

    visit_id: str
    key_destroyed: bool
    erased_by: str
    erased_at: datetime


DeskName = Annotated[
    str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9 _.-]{0,19}$"), REFUSE_PERSONAL_DATA
]
QueueCode = Annotated[str, StringConstraints(pattern=r"^[a-z_]{2,40}$")]


class QueueServicePublic(BaseModel):
    queue: str
    letter: str
    name_sv: str
    name_en: str
    agency: str | None


class OfficePublic(BaseModel):
    office_id: str
    name: str
    municipality: str
    county: str
    lead_agency: str
    size: str
    opening_hours: dict[str, str]
    id_cards: bool
    newcomer_meeting_place: bool
    video_meetings: bool
    booked_meetings: bool
    agency_desks: list[str]
    services: list[QueueServicePublic]


class OfficesPublic(BaseModel):
    offices: list[OfficePublic]


class DeskOpen(Strict):
    queues: list[QueueCode] = Field(default_factory=list, max_length=20)


class DeskPublic(BaseModel):
    office_id: str
    desk: str
    open: bool
    queues: list[str]
    handler: str


class CallNextRequest(Strict):
    queues: list[QueueCode] | None = Field(default=None, max_length=20)


class VisitCalledPublic(BaseModel):
    visit_id: str
    ticket: str
    queue: str
    desk: str
    called_at: datetime


class DeskRef(Strict):
    desk: DeskName | None = None


class TransferRequest(Strict):
    queue: QueueCode | None = None
    desk: DeskName | None = None


class TicketPublic(BaseModel):
    ticket: str
    registered_at: datetime
    waiting_minutes: float
    visit_id: str | None = None  # not for the display role


class QueuePublic(BaseModel):
    queue: str
    letter: str
    name_sv: str
    name_en: str
    agency: str | None
    waiting: int
    tickets: list[TicketPublic]
    longest_wait_minutes: float
    estimated_wait_minutes: float | None
    desks_open: int


class CalledPublic(BaseModel):
    ticket: str
    queue: str
    desk: str
    called_at: datetime
    recall: bool


class DeskOnBoard(BaseModel):
    desk: str
    queues: list[str]
    serving: str | None


class OfficeQueuePublic(BaseModel):
    office_id: str
    service_day: str
    updated_at: datetime
    queues: list[QueuePublic]
    recently_called: list[CalledPublic]
    desks: list[DeskOnBoard]
