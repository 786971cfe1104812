"""Settings common to all services (pydantic-settings, environment prefix ``SK_``).

Each service subclasses ``ServiceSettings`` once; ``bootstrap`` builds it, never an
import-time global.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Literal

from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.db import sqlite_url


class CommonSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SK_", extra="ignore")

    environment: Literal["development", "production"] = "development"
    data_dir: Path = Path("data")
    host: str = "127.0.0.1"
    log_level: str = "INFO"
    log_format: Literal["json", "console"] = "json"
    # Unset: the embedded bus. Set: Kafka (distributed mode).
    kafka_bootstrap_servers: str | None = None
    # One PostgreSQL database for all services, each in its own schema; a service's own
    # SK_<SERVICE>_DATABASE_URL wins over it. Unset: SQLite files under data_dir.
    database_url: str | None = None
    kafka_partitions: int = 3
    kafka_replication_factor: int = 1  # 3 on a production cluster
    # Namespaces topics and consumer groups on a shared cluster; empty = the contract names.
    kafka_topic_prefix: str = ""
    max_body_bytes: int = 64 * 1024
    # Personal-data vault (shared/vault.py): master key, base64 of 32 bytes (required in
    # production; development makes <data_dir>/auth/master.key), and the vault's database.
    master_key: str | None = None
    vault_database_url: str | None = None
    # Authentication (shared/security.py): the public key that verifies tokens, as PEM text
    # or a file (required in production; development uses <data_dir>/auth/public.pem).
    auth_public_key: str | None = None
    auth_public_key_file: Path | None = None
    # The bearer token `servicekontor probe` sends to /ready (a `monitor` token: scope
    # ops:read only). Required in production; development mints one from <data_dir>/auth.
    probe_token: str | None = None
    # Requests per client (token subject, or address without a valid token); "" = no limit.
    rate_limit: str = "6000/minute"
    # The office pages (intake's /desk) call routing from the browser, another origin:
    # SK_CORS_ORIGINS lists the origins whose pages may call this service (JSON list, e.g.
    # ["https://intake.kontor.example"]; empty: none), SK_ROUTING_PUBLIC_URL tells the
    # desk page where routing is. `servicekontor up` sets both for its own ports.
    cors_origins: list[str] = []
    routing_public_url: str | None = None
    # OpenTelemetry tracing (shared/tracing.py): the OTLP/HTTP collector, e.g.
    # http://127.0.0.1:4318. Unset: tracing is off and costs nothing.
    otel_exporter_otlp_endpoint: str | None = None


class ServiceSettings(CommonSettings):
    service_name: ClassVar[str] = ""

    def own_database_url(self) -> str | None:
        return getattr(self, f"{self.service_name}_database_url", None)

    def resolved_database_url(self) -> str:
        return (
            self.own_database_url()
            or self.database_url
            or sqlite_url(self.data_dir.resolve() / f"{self.service_name}.db")
        )

    @property
    def port(self) -> int:
        return getattr(self, f"{self.service_name}_port")
