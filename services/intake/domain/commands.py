"""Commands intake accepts: imperative, validated at the edge, handled by ``handlers``."""

from __future__ import annotations

from dataclasses import dataclass

from services.intake.domain.events import Channel, Outcome, Satisfaction


@dataclass(frozen=True)
class RegisterVisit:
    office_id: str
    channel: Channel
    agency: str | None = None


@dataclass(frozen=True)
class CallVisit:
    visit_id: str
    desk: str


@dataclass(frozen=True)
class RecordQuestion:
    visit_id: str
    text: str
    agency: str | None = None
    case_type: str | None = None
    personal_identity_number: str | None = None


@dataclass(frozen=True)
class ResolveQuestion:
    question_id: str
    outcome: Outcome
    note: str | None = None


@dataclass(frozen=True)
class EndVisit:
    visit_id: str
    satisfaction: Satisfaction | None = None
