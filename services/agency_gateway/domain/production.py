"""What a production configuration must hold before the gateway starts: every agency
has its own real endpoint (never the agency simulator, only HTTPS) and its own secret
(never the development secret)."""

from __future__ import annotations

from collections.abc import Mapping

from services.agency_gateway.domain.targets import AgencyTarget
from shared.errors import ConfigurationError

MIN_SECRET_LENGTH = 32


def check_production(targets: Mapping[str, AgencyTarget], simulator_url: str) -> None:
    if all(t.uses_simulator for t in targets.values()):
        raise ConfigurationError(
            "no agency endpoints are configured (SK_AGENCY_ENDPOINTS or SK_AGENCY_CONFIG): "
            "in production the gateway needs each agency's real endpoint and never sends "
            "cases to the agency simulator"
        )
    problems: list[str] = []
    missing = sorted(code for code, t in targets.items() if t.uses_simulator)
    if missing:
        problems.append(
            f"no endpoint for {missing}: in production the gateway never falls back to the "
            "agency simulator"
        )
    simulated = sorted(
        code for code, t in targets.items() if t.endpoint.startswith(simulator_url.rstrip("/"))
    )
    if simulated:
        problems.append(f"endpoints of {simulated} point at the agency simulator")
    plain = sorted(code for code, t in targets.items() if not t.endpoint.startswith("https://"))
    if plain:
        problems.append(f"endpoints of {plain} are not https")
    dev = sorted(code for code, t in targets.items() if t.secret_is_dev)
    if dev:
        problems.append(f"no secret for {dev} (the development secret is refused)")
    short = sorted(
        code
        for code, t in targets.items()
        if not t.secret_is_dev and len(t.secret) < MIN_SECRET_LENGTH
    )
    if short:
        problems.append(f"secrets of {short} are shorter than {MIN_SECRET_LENGTH} characters")
    if problems:
        raise ConfigurationError("production configuration refused: " + "; ".join(problems))
