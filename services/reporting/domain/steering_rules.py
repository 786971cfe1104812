"""The steering figures' own facts, folded from events (pure, like ``fold``):

- the wait the kiosk showed each visitor (``VisitRegistered.estimated_wait_minutes``);
- the person pseudonym of each question asked with an identity number (intake's keyed
  hash: reporting never sees the number); an erased visit (``PersonalDataErased``) loses
  its links, whenever the erasure arrives;
- the agency's decision on a forwarded case: the earliest ``decided`` or ``closed``
  status callback (``gateway.AgencyCaseUpdated``).

Every rule is idempotent and order-free: a repeated event changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from services.reporting.domain.fact_rules import Payload, ts
from services.reporting.domain.model import earliest

DECIDED = ("decided", "closed")


@dataclass(frozen=True, slots=True)
class WaitEstimate:
    visit_id: str
    estimated_wait_minutes: float


@dataclass(frozen=True, slots=True)
class PersonLink:
    question_id: str
    visit_id: str
    person_pseudonym: str


@dataclass(slots=True)
class AgencyDecision:
    question_id: str
    visit_id: str
    agency: str
    decided_at: datetime


@dataclass
class SteeringRecords:
    estimates: dict[str, float] = field(default_factory=dict)  # visit -> minutes shown
    links: dict[str, PersonLink] = field(default_factory=dict)  # question -> link
    erased: set[str] = field(default_factory=set)  # visits whose links are gone
    decisions: dict[str, AgencyDecision] = field(default_factory=dict)  # question -> decision

    def live_links(self) -> list[PersonLink]:
        return [link for link in self.links.values() if link.visit_id not in self.erased]


def estimate_shown(p: Payload, r: SteeringRecords) -> None:
    if p.get("estimated_wait_minutes") is not None:
        r.estimates[p["visit_id"]] = float(p["estimated_wait_minutes"])


def person_linked(p: Payload, r: SteeringRecords) -> None:
    if p.get("person_pseudonym") and p["visit_id"] not in r.erased:
        r.links[p["question_id"]] = PersonLink(p["question_id"], p["visit_id"], p["person_pseudonym"])


def link_erased(p: Payload, r: SteeringRecords) -> None:
    r.erased.add(p["visit_id"])
    for question_id in [q for q, link in r.links.items() if link.visit_id == p["visit_id"]]:
        del r.links[question_id]


def agency_updated(p: Payload, r: SteeringRecords) -> None:
    if p["status"] not in DECIDED:
        return
    at, found = ts(p["agency_updated_at"]), r.decisions.get(p["question_id"])
    if found is None:
        r.decisions[p["question_id"]] = AgencyDecision(p["question_id"], p["visit_id"], p["agency"], at)
    else:
        found.decided_at = earliest(found.decided_at, at)  # type: ignore[assignment]


STEERING_APPLIERS: dict[str, Callable[[Payload, SteeringRecords], None]] = {
    "intake.VisitRegistered": estimate_shown,
    "intake.QuestionRecorded": person_linked,
    "intake.PersonalDataErased": link_erased,
    "gateway.AgencyCaseUpdated": agency_updated,
}
