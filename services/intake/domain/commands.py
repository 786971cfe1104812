"""Commands intake accepts: imperative, validated at the edge, handled by ``handlers``."""

from __future__ import annotations

from dataclasses import dataclass

from services.intake.domain.events import Channel, Outcome, Satisfaction


@dataclass(frozen=True)
class RegisterVisit:
    office_id: str
    channel: Channel
    agency: str | None = None
    queue: str | None = None  # None: the office's general queue


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


@dataclass(frozen=True)
class OpenDesk:
    office_id: str
    desk: str
    queues: tuple[str, ...]
    handler: str


@dataclass(frozen=True)
class CloseDesk:
    office_id: str
    desk: str


@dataclass(frozen=True)
class CallNext:
    office_id: str
    desk: str
    queues: tuple[str, ...] | None = None  # None: the desk's work profile


@dataclass(frozen=True)
class RecallVisit:
    visit_id: str
    desk: str | None = None


@dataclass(frozen=True)
class MarkNoShow:
    visit_id: str
    desk: str | None = None


@dataclass(frozen=True)
class TransferVisit:
    visit_id: str
    queue: str | None = None
    desk: str | None = None
