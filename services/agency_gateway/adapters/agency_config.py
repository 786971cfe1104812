"""Per-agency configuration as read: where each agency's system is, its credentials,
timeout, retry policy, calls in flight and field allow-list.

Read from ``SK_AGENCY_CONFIG`` (a JSON or YAML file, see docs/agency-api.md), with
``SK_AGENCY_ENDPOINTS`` and ``SK_AGENCY_SECRETS`` (JSON objects by agency code) on top,
and the ``SK_AGENCY_*`` settings as defaults (``config.GatewaySettings`` resolves them into
one ``domain.targets.AgencyTarget`` per agency).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from services.agency_gateway.domain.minimisation import CASE_FIELDS, unknown_fields
from shared.errors import ConfigurationError


class RetryConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    initial_seconds: float | None = Field(default=None, gt=0)
    max_seconds: float | None = Field(default=None, gt=0)
    jitter: float | None = Field(default=None, ge=0, le=1)
    max_attempts: int | None = Field(default=None, ge=0)


class AgencyConfig(BaseModel):
    """One agency's entry (or the ``defaults`` entry) in the file."""

    model_config = ConfigDict(extra="forbid")
    endpoint: str | None = None
    secret: str | None = Field(default=None, min_length=1)
    secret_env: str | None = None  # name of an environment variable holding the secret
    token: str | None = None  # sent as ``Authorization: Bearer <token>`` if set
    token_env: str | None = None
    timeout_seconds: float | None = Field(default=None, gt=0)
    retry: RetryConfig = Field(default_factory=RetryConfig)
    max_in_flight: int | None = Field(default=None, ge=1)
    fields: list[str] | None = None

    @field_validator("endpoint")
    @classmethod
    def _http_url(cls, url: str | None) -> str | None:
        if url is not None and not url.startswith(("http://", "https://")):
            raise ValueError("endpoint must be an http(s) URL")
        return url.rstrip("/") if url else url

    @field_validator("fields")
    @classmethod
    def _known_fields(cls, fields: list[str] | None) -> list[str] | None:
        if fields is not None and (unknown := unknown_fields(fields)):
            raise ValueError(f"unknown case fields {unknown}; known: {list(CASE_FIELDS)}")
        return fields


class AgencyFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    defaults: AgencyConfig = Field(default_factory=AgencyConfig)
    agencies: dict[str, AgencyConfig] = Field(default_factory=dict)


def load_agency_file(path: Path | None) -> AgencyFile:
    if path is None:
        return AgencyFile()
    try:
        text = path.read_text(encoding="utf-8")
        raw = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
        return AgencyFile.model_validate(raw or {})
    except (OSError, ValueError, yaml.YAMLError, ValidationError) as error:
        raise ConfigurationError(f"SK_AGENCY_CONFIG {path}: {error}") from error


def env_value(name: str | None, what: str) -> str | None:
    if name is None:
        return None
    value = os.environ.get(name)
    if not value:
        raise ConfigurationError(f"{what}: environment variable {name} is not set")
    return value
