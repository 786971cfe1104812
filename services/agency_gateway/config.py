"""Agency gateway settings (environment prefix ``SK_``) and their resolution into one
``AgencyTarget`` per agency (see ``adapters.agency_config``)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import Field, PrivateAttr, SecretStr, field_validator

from services.agency_gateway.adapters.agency_config import (
    AgencyConfig,
    env_value,
    load_agency_file,
)
from services.agency_gateway.domain.breaker import CircuitBreaker
from services.agency_gateway.domain.minimisation import CASE_FIELDS
from services.agency_gateway.domain.outcomes import RetryPolicy
from services.agency_gateway.domain.production import check_production
from services.agency_gateway.domain.targets import AgencyTarget
from shared.catalog import load_catalog
from shared.errors import ConfigurationError
from shared.settings import ServiceSettings
from shared.signing import dev_secret

__all__ = ["ConfigurationError", "GatewaySettings"]


class GatewaySettings(ServiceSettings):
    service_name: ClassVar[str] = "agency_gateway"
    agency_gateway_database_url: str | None = None
    agency_gateway_port: int = 8003
    agency_config: Path | None = None  # SK_AGENCY_CONFIG: JSON or YAML, per agency
    # SK_AGENCY_ENDPOINTS='{"skatteverket": "https://..."}': agency code -> case URL.
    agency_endpoints: dict[str, str] = Field(default_factory=dict)
    # SK_AGENCY_SECRETS='{"skatteverket": "..."}': agency code -> HMAC secret.
    agency_secrets: dict[str, SecretStr] = Field(default_factory=dict)
    agency_simulator_url: str = "http://127.0.0.1:8009"
    # Defaults for every agency; an agency's entry in SK_AGENCY_CONFIG wins.
    agency_request_timeout_seconds: float = Field(default=5.0, gt=0)
    agency_retry_initial_seconds: float = Field(default=0.5, gt=0)
    agency_retry_max_seconds: float = Field(default=30.0, gt=0)
    agency_retry_jitter: float = Field(default=0.5, ge=0, le=1)  # fraction of the delay
    agency_max_attempts: int = Field(default=0, ge=0)  # 0: for ever; n: dead-letter after n
    agency_max_in_flight: int = Field(default=16, ge=1)
    agency_max_in_flight_per_agency: int = Field(default=4, ge=1)
    agency_breaker_failures: int = Field(default=10, ge=1)  # transient failures in a row
    agency_breaker_cooldown_seconds: float = Field(default=5.0, gt=0)
    agency_breaker_max_cooldown_seconds: float = Field(default=60.0, gt=0)
    agency_callback_tolerance_seconds: float = Field(default=300.0, gt=0)
    _targets: dict[str, AgencyTarget] | None = PrivateAttr(default=None)

    @field_validator("agency_endpoints", "agency_secrets")
    @classmethod
    def _known_agencies(cls, values: dict) -> dict:
        unknown = sorted(code for code in values if not load_catalog().is_agency(code))
        if unknown:
            raise ValueError(f"unknown agency codes {unknown}")
        return values

    @field_validator("agency_endpoints")
    @classmethod
    def _http_urls(cls, endpoints: dict[str, str]) -> dict[str, str]:
        bad = sorted(code for code, url in endpoints.items() if not url.startswith("http"))
        if bad:
            raise ValueError(f"endpoints of {bad} are not http(s) URLs")
        return {code: url.rstrip("/") for code, url in endpoints.items()}

    # -- resolution -------------------------------------------------------------------
    def targets(self) -> dict[str, AgencyTarget]:
        """One target per catalog agency (computed once; raises ConfigurationError)."""
        if self._targets is None:
            file = load_agency_file(self.agency_config)
            unknown = sorted(c for c in file.agencies if not load_catalog().is_agency(c))
            if unknown:
                raise ConfigurationError(f"SK_AGENCY_CONFIG: unknown agency codes {unknown}")
            self._targets = {
                code: self._target(code, file.agencies.get(code, AgencyConfig()), file.defaults)
                for code in sorted(load_catalog().agency_names)
            }
        return self._targets

    def target(self, agency: str) -> AgencyTarget:
        targets = self.targets()
        return targets[agency] if agency in targets else self._target(agency, AgencyConfig())

    def _target(self, code: str, own: AgencyConfig, defaults: AgencyConfig | None = None) -> AgencyTarget:
        base = defaults or AgencyConfig()

        def pick(name: str, fallback: object) -> object:
            for source in (getattr(own, name), getattr(base, name)):
                if source is not None:
                    return source
            return fallback

        def retry(name: str, fallback: object) -> object:
            for source in (getattr(own.retry, name), getattr(base.retry, name)):
                if source is not None:
                    return source
            return fallback

        endpoint = self.agency_endpoints.get(code) or own.endpoint
        configured = self.agency_secrets.get(code)
        secret = (
            (configured.get_secret_value() if configured else None)
            or own.secret
            or env_value(own.secret_env, f"secret of {code}")
        )
        return AgencyTarget(
            agency=code,
            endpoint=endpoint or f"{self.agency_simulator_url.rstrip('/')}/v1/agencies/{code}/cases",
            uses_simulator=endpoint is None,
            secret=secret or dev_secret(code),
            secret_is_dev=secret is None or secret == dev_secret(code),
            token=own.token or env_value(own.token_env, f"token of {code}"),
            timeout_seconds=float(pick("timeout_seconds", self.agency_request_timeout_seconds)),
            policy=RetryPolicy(
                initial=float(retry("initial_seconds", self.agency_retry_initial_seconds)),
                maximum=float(retry("max_seconds", self.agency_retry_max_seconds)),
                jitter=float(retry("jitter", self.agency_retry_jitter)),
                max_attempts=int(retry("max_attempts", self.agency_max_attempts)),
            ),
            max_in_flight=int(pick("max_in_flight", self.agency_max_in_flight_per_agency)),
            fields=tuple(pick("fields", list(CASE_FIELDS))),
        )

    # -- the API the rest of the gateway uses -----------------------------------------
    @property
    def uses_simulator(self) -> bool:
        """No agency has a real endpoint: every case goes to the simulator."""
        return all(t.uses_simulator for t in self.targets().values())

    def endpoint_for(self, agency: str) -> str:
        return self.target(agency).endpoint

    def retry_policy(self, agency: str | None = None) -> RetryPolicy:
        return self.target(agency).policy if agency else self._target("-", AgencyConfig()).policy

    def longest_timeout(self) -> float:
        return max(t.timeout_seconds for t in self.targets().values())

    def new_breaker(self) -> CircuitBreaker:
        return CircuitBreaker(
            threshold=self.agency_breaker_failures,
            cooldown=self.agency_breaker_cooldown_seconds,
            max_cooldown=self.agency_breaker_max_cooldown_seconds,
        )

    def check_targets(self) -> None:
        """In production: real endpoints and real secrets for every agency, or no start."""
        if self.environment == "production":
            check_production(self.targets(), self.agency_simulator_url)
