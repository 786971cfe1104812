"""Commands routing accepts: imperative, validated at the edge, handled by ``handlers``."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class OverrideClassification:
    question_id: str
    level: str
    agency: str | None
    case_type: str | None
    reason: str
    handler: str
    actor: str = ""  # the authenticated subject who asked (the audit trail's "who")
