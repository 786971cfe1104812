"""intake's events: declared as published contracts in ``shared.contracts.intake``; the
domain uses them as they are (other services import only the contracts)."""

from shared.contracts.intake import (  # noqa: F401 - re-exported for this service's own code
    Channel,
    DeskClosed,
    DeskOpened,
    IntakeEvent,
    Outcome,
    PersonalDataErased,
    QuestionRecorded,
    QuestionResolved,
    Satisfaction,
    VisitCalled,
    VisitEnded,
    VisitMarkedNoShow,
    VisitRecalled,
    VisitRegistered,
    VisitTransferred,
)
