"""Data minimisation: each agency receives only the case fields it needs.

The allow-list is per agency (configuration); three fields identify the case and always
go. The personal identity number only ever goes to the agency responsible for the case.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

CASE_FIELDS = (
    "case_id",
    "visit_id",
    "office_id",
    "agency",
    "case_type",
    "text",
    "personal_identity_number",
    "destination",
    "routed_at",
)
REQUIRED_FIELDS = ("case_id", "agency", "case_type")
PIN_FIELD = "personal_identity_number"


def unknown_fields(fields: Collection[str]) -> list[str]:
    return sorted(set(fields) - set(CASE_FIELDS))


def minimise(case: dict[str, Any], receiver: str, allowed: Collection[str]) -> dict[str, Any]:
    """The body ``receiver`` gets: required fields plus the allowed ones, in the case's
    order; never the identity number unless ``receiver`` is responsible for the case."""
    keep = set(REQUIRED_FIELDS) | set(allowed)
    if case.get("agency") != receiver:
        keep.discard(PIN_FIELD)
    return {name: value for name, value in case.items() if name in keep}
