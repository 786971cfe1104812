"""Domain errors. Entrypoints map them to HTTP status codes; domain code only raises them."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base class: a request that the domain refuses. Never a server fault."""

    code = "domain_error"
    # Response headers the refusal carries (e.g. WWW-Authenticate, Retry-After).
    headers: dict[str, str] | None = None

    def __init__(self, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class NotFound(DomainError):
    code = "not_found"


class Conflict(DomainError):
    code = "conflict"


class InvalidInput(DomainError):
    code = "invalid_input"


class ConcurrencyError(Conflict):
    """Another writer appended to the same stream first: reload and retry."""

    code = "concurrency_conflict"


class ConfigurationError(RuntimeError):
    """The settings would send cases somewhere they must not go, or cannot be read, or a
    part was asked to run where it must not (a one-line message, shown as it is)."""
