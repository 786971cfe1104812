"""Topic names (contract)."""

INTAKE = "servicekontor.intake.events"
ROUTING = "servicekontor.routing.events"
GATEWAY = "servicekontor.gateway.events"
ALL = (INTAKE, ROUTING, GATEWAY)


def dead_letter_topic(topic: str) -> str:
    return f"{topic}.dlq"
