"""Intake's API schemas: their own classes, never the domain's or the tables'."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Code = Annotated[str, StringConstraints(pattern=r"^[a-z_]{2,40}$")]
OfficeId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{1,59}$")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class VisitCreate(Strict):
    office_id: OfficeId
    channel: Literal["kiosk", "desk"]
    agency: Code | None = None


class VisitCreated(BaseModel):
    visit_id: str
    ticket: str
    registered_at: datetime


class CallCreate(Strict):
    desk: Annotated[str, StringConstraints(min_length=1, max_length=40, strip_whitespace=True)]


class QuestionCreate(Strict):
    text: Annotated[str, StringConstraints(min_length=1, max_length=4000, strip_whitespace=True)]
    agency: Code | None = None
    case_type: Code | None = None
    personal_identity_number: Annotated[str, StringConstraints(max_length=20)] | None = None


class QuestionCreated(BaseModel):
    question_id: str
    visit_id: str


class ResolutionCreate(Strict):
    outcome: Literal["answered", "forwarded", "referred"]
    note: Annotated[str, StringConstraints(max_length=2000)] | None = None


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
