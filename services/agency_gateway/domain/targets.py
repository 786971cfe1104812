"""One agency's resolved configuration: everything the worker needs to reach it."""

from __future__ import annotations

from dataclasses import dataclass

from services.agency_gateway.domain.outcomes import RetryPolicy


@dataclass(frozen=True)
class AgencyTarget:
    """Everything the worker needs to reach one agency. ``repr`` hides the secrets."""

    agency: str
    endpoint: str
    uses_simulator: bool
    secret: str
    secret_is_dev: bool
    token: str | None
    timeout_seconds: float
    policy: RetryPolicy
    max_in_flight: int
    fields: tuple[str, ...]

    def __repr__(self) -> str:
        return f"AgencyTarget({self.agency!r}, {self.endpoint!r})"

    def meeting_url(self, kind: str, booking_id: str) -> str:
        """Beside the case endpoint (``.../cases`` -> ``.../meetings``): the meeting,
        ``.../meetings/{booking_id}/move`` or ``.../cancellation`` (docs/agency-api.md)."""
        base = self.endpoint.rstrip("/")
        base = base[: -len("/cases")] if base.endswith("/cases") else base
        suffix = {"meeting": "", "meeting_move": f"/{booking_id}/move",
                  "meeting_cancellation": f"/{booking_id}/cancellation"}[kind]
        return f"{base}/meetings{suffix}"

    def public(self) -> dict[str, object]:
        """What may be shown to operators: no secret, no token."""
        return {
            "endpoint": self.endpoint,
            "uses_simulator": self.uses_simulator,
            "development_secret": self.secret_is_dev,
            "timeout_seconds": self.timeout_seconds,
            "max_in_flight": self.max_in_flight,
            "fields": list(self.fields),
            "retry": vars(self.policy),
        }
