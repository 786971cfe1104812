"""agency_gateway's events: declared as published contracts in ``shared.contracts.agency_gateway``; the
domain uses them as they are (other services import only the contracts)."""

from shared.contracts.agency_gateway import (  # noqa: F401 - re-exported for this service's own code
    AGENCY_STATUSES,
    AgencyCaseUpdated,
    AgencyMeetingStatus,
    AgencyMeetingUpdated,
    AgencySlotsPublished,
    AgencyStatus,
    CaseDeadLettered,
    CaseForwarded,
    CaseForwardingFailed,
    CaseQueuedForDelivery,
    DeadLetterReplayed,
    GatewayEvent,
    MeetingDeadLettered,
    MeetingDeliveryKind,
    MeetingForwarded,
    MeetingForwardingFailed,
    MeetingQueuedForDelivery,
)
