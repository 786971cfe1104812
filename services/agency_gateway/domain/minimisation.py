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


# Meetings (issue 16): what identifies the meeting always goes; the person's identity
# number as for a case (the agency's allow-list, and only to the responsible agency); name
# and phone only when no identity number goes, so the agency can still reach the person.
MEETING_FIELDS = (
    "meeting_id",
    "agency",
    "case_type",
    "kind",
    "office_id",
    "slot_start",
    "length_minutes",
    "room",
    "question_id",
    "personal_identity_number",
    "contact_name",
    "contact_phone",
    "from_start",
    "moved_at",
    "cancelled_at",
)
CONTACT_FIELDS = ("contact_name", "contact_phone")
SEALED_FIELDS = (PIN_FIELD, *CONTACT_FIELDS)  # sealed with the vault until the call


def minimise_meeting(meeting: dict[str, Any], receiver: str, allowed: Collection[str]) -> dict[str, Any]:
    """The meeting body ``receiver`` gets (see the rule above); empty values are left out."""
    pin = meeting.get(PIN_FIELD) if PIN_FIELD in allowed and meeting.get("agency") == receiver else None
    drop = {PIN_FIELD} if pin is None else {PIN_FIELD, *CONTACT_FIELDS}
    body = {k: v for k, v in meeting.items() if k in MEETING_FIELDS and k not in drop and v is not None}
    return {**body, PIN_FIELD: pin} if pin else body
