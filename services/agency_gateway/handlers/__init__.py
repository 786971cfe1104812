"""The gateway's application logic: plain async functions ``(message, uow, **deps)``.

- ``delivery``: queue routed cases, claim due ones, record each attempt's outcome;
- ``replay``: dead letters sent again by a person;
- ``callbacks``: the agencies' status reports;
- ``meetings``: bookings to the agencies, their meeting callbacks and slot publications.
"""

from services.agency_gateway.handlers.callbacks import record_agency_update
from services.agency_gateway.handlers.delivery import (
    Claimed,
    case_of,
    claim_due,
    queue_case,
    record_outcome,
    sync_row,
)
from services.agency_gateway.handlers.meetings import (
    publish_slots,
    queue_cancellation,
    queue_meeting,
    queue_move,
    record_meeting_update,
)
from services.agency_gateway.handlers.replay import replay_dead_letter, replay_dead_letters

__all__ = [
    "Claimed",
    "case_of",
    "claim_due",
    "publish_slots",
    "queue_cancellation",
    "queue_meeting",
    "queue_move",
    "record_meeting_update",
    "queue_case",
    "record_agency_update",
    "record_outcome",
    "replay_dead_letter",
    "replay_dead_letters",
    "sync_row",
]
