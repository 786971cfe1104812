"""Agency gateway settings (environment prefix ``SK_``)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, field_validator

from services.agency_gateway.domain.outcomes import RetryPolicy
from shared.catalog import load_catalog
from shared.settings import ServiceSettings


class ConfigurationError(RuntimeError):
    """The settings would send cases somewhere they must not go."""


class GatewaySettings(ServiceSettings):
    service_name: ClassVar[str] = "agency_gateway"
    agency_gateway_database_url: str | None = None
    agency_gateway_port: int = 8003
    # SK_AGENCY_ENDPOINTS='{"skatteverket": "https://..."}': agency code -> case URL.
    agency_endpoints: dict[str, str] = Field(default_factory=dict)
    agency_simulator_url: str = "http://127.0.0.1:8009"
    agency_request_timeout_seconds: float = Field(default=5.0, gt=0)
    agency_retry_initial_seconds: float = Field(default=0.5, gt=0)
    agency_retry_max_seconds: float = Field(default=30.0, gt=0)
    agency_retry_jitter: float = Field(default=0.5, ge=0, le=1)  # fraction of the delay
    agency_max_attempts: int = Field(default=0, ge=0)  # 0: for ever; n: dead-letter after n
    agency_max_in_flight: int = Field(default=16, ge=1)
    agency_max_in_flight_per_agency: int = Field(default=4, ge=1)

    @field_validator("agency_endpoints")
    @classmethod
    def _known_agencies_and_http_urls(cls, endpoints: dict[str, str]) -> dict[str, str]:
        catalog = load_catalog()
        unknown = sorted(code for code in endpoints if not catalog.is_agency(code))
        if unknown:
            raise ValueError(f"unknown agency codes {unknown}")
        bad = sorted(code for code, url in endpoints.items() if not url.startswith("http"))
        if bad:
            raise ValueError(f"endpoints of {bad} are not http(s) URLs")
        return {code: url.rstrip("/") for code, url in endpoints.items()}

    @property
    def uses_simulator(self) -> bool:
        return not self.agency_endpoints

    def endpoint_for(self, agency: str) -> str:
        url = self.agency_endpoints.get(agency)
        return url or f"{self.agency_simulator_url.rstrip('/')}/v1/agencies/{agency}/cases"

    def retry_policy(self) -> RetryPolicy:
        return RetryPolicy(
            initial=self.agency_retry_initial_seconds,
            maximum=self.agency_retry_max_seconds,
            jitter=self.agency_retry_jitter,
            max_attempts=self.agency_max_attempts,
        )

    def check_targets(self) -> None:
        """In production every agency needs its real endpoint: a missing one would
        fall back to the simulator, which is never a production target."""
        if self.environment != "production":
            return
        if self.uses_simulator:
            raise ConfigurationError(
                "SK_AGENCY_ENDPOINTS is not set: in production the gateway needs each "
                "agency's real endpoint and never sends cases to the agency simulator"
            )
        missing = sorted(set(load_catalog().agency_names) - set(self.agency_endpoints))
        if missing:
            raise ConfigurationError(
                f"SK_AGENCY_ENDPOINTS has no endpoint for {missing}: in production the "
                "gateway never falls back to the agency simulator"
            )
