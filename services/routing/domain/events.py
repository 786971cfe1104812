"""routing's events: declared as published contracts in ``shared.contracts.routing``; the
domain uses them as they are (other services import only the contracts)."""

from shared.contracts.routing import (  # noqa: F401 - re-exported for this service's own code
    CaseRoutedToAgency,
    ClassificationOverridden,
    Destination,
    Level,
    QuestionClassified,
    RoutingEvent,
)
