"""The audit trail: who overrode, replayed, erased or exported what, and when.

One rule per audited event type turns the event's JSON payload into an entry, for the
live consumer and the replay alike. Free text (reasons, errors, question text), handler
names typed at the desk and identity numbers are never stored; the actor is the
authenticated subject (token) the event names.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from services.reporting.domain.fact_rules import ts

Action = Literal["override", "replay", "erasure", "export"]
Payload = dict[str, Any]
UNAUTHENTICATED = "unauthenticated"


@dataclass(frozen=True)
class AuditEntry:
    event_id: str  # the source event's id: an event is audited once, however often it arrives
    occurred_at: datetime
    action: Action
    actor: str
    subject: str  # question id, visit id or table name
    details: dict[str, Any] = field(default_factory=dict)


def _override(p: Payload) -> tuple[Action, str, str, str, Payload]:
    """Overrides recorded before authentication name only the handler, as the desk typed
    it: a name, which reporting never stores. Their actor is ``unauthenticated`` (routing's
    own events still hold the name)."""
    details = {
        "visit_id": p["visit_id"], "office_id": p["office_id"],
        "from": {"level": p["previous_level"], "agency": p["previous_agency"],
                 "case_type": p["previous_case_type"]},
        "to": {"level": p["level"], "agency": p["agency"], "case_type": p["case_type"],
               "destination": p["destination"]},
    }
    actor = p.get("actor") or UNAUTHENTICATED
    return "override", actor, p["question_id"], p["overridden_at"], details


def _replay(p: Payload) -> tuple[Action, str, str, str, Payload]:
    return "replay", p["actor"], p["question_id"], p["replayed_at"], {
        "visit_id": p["visit_id"], "agency": p["agency"],
    }


def _erasure(p: Payload) -> tuple[Action, str, str, str, Payload]:
    return "erasure", p["actor"], p["visit_id"], p["erased_at"], {}


def _export(p: Payload) -> tuple[Action, str, str, str, Payload]:
    return "export", p["actor"], p["table"], p["exported_at"], {
        "filters": dict(p.get("filters") or {}), "format": p["format"], "rows": p["rows"],
    }


RULES: dict[str, Callable[[Payload], tuple[Action, str, str, str, Payload]]] = {
    "routing.ClassificationOverridden": _override,
    "gateway.DeadLetterReplayed": _replay,
    "intake.PersonalDataErased": _erasure,
    "reporting.DataExported": _export,
}
AUDITED = frozenset(RULES)
# Recorded by reporting itself (in its own event store), not consumed from a topic.
OWN_AUDITED = frozenset(t for t in RULES if t.startswith("reporting."))


def audit_entry(event_type: str, event_id: str, payload: Payload) -> AuditEntry | None:
    """The entry an event makes, or None when its type is not audited."""
    rule = RULES.get(event_type)
    if rule is None:
        return None
    action, actor, subject, at, details = rule(payload)
    return AuditEntry(str(event_id), ts(at), action, actor[:200], subject[:200], details)
