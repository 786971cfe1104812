"""The HTTP side of authentication: every route but ``/health`` declares the scope it
needs with ``require(scope)``; the dependency checks the bearer token (401), the role's
scopes (403) and the client's request rate (429), and hands the route a ``Principal``.

``build_runtime`` refuses to start a service with a route that declares no scope, so a
new route cannot be public by accident.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from shared.auth import Forbidden, Principal, TokenVerifier, Unauthenticated, auth_dir, ensure_keys
from shared.errors import DomainError
from shared.input_checks import refuse_nul_characters

# The API description is public (the project is open source); the dashboard's page is a
# shell without data: its script asks the stats API with the token the user gives it.
PUBLIC_PATHS = frozenset(
    {"/health", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc", "/dashboard", "/"}
)

_bearer = HTTPBearer(auto_error=False, description="A token from `servicekontor token <role>`")


class RateLimited(DomainError):
    code = "rate_limited"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message, {"retry_after_seconds": retry_after})
        self.retry_after = retry_after
        self.headers = {"Retry-After": str(retry_after)}


class ClientRateLimit:
    """At most ``limit`` (e.g. ``"6000/minute"``) requests per client, a moving window in
    this process's memory (``limits``). A client is the token's subject; requests without
    a valid token count against the caller's address, so guessing tokens is slowed too."""

    def __init__(self, limit: str) -> None:
        self.item = parse(limit) if limit else None
        self.limiter = MovingWindowRateLimiter(MemoryStorage())

    def hit(self, client: str) -> None:
        if self.item is None or self.limiter.hit(self.item, client):
            return
        reset_at, _remaining = self.limiter.get_window_stats(self.item, client)
        retry_after = max(1, int(reset_at - time.time()) + 1)
        raise RateLimited(f"too many requests from this client (limit {self.item})", retry_after)


def load_public_key(settings: Any) -> bytes:
    """``SK_AUTH_PUBLIC_KEY`` (PEM), else ``SK_AUTH_PUBLIC_KEY_FILE``, else (development
    only) the embedded installation's own key pair under ``<data_dir>/auth/``."""
    if settings.auth_public_key:
        return settings.auth_public_key.encode()
    if settings.auth_public_key_file:
        return Path(settings.auth_public_key_file).read_bytes()
    if settings.environment == "production":
        raise SystemExit("production needs SK_AUTH_PUBLIC_KEY or SK_AUTH_PUBLIC_KEY_FILE")
    return ensure_keys(auth_dir(settings.data_dir))[1]


def install_security(app: FastAPI, settings: Any) -> None:
    app.state.verifier = TokenVerifier(load_public_key(settings))
    app.state.rate_limit = ClientRateLimit(settings.rate_limit)


def _client_address(request: Request) -> str:
    return f"address:{request.client.host if request.client else 'unknown'}"


def require(scope: str) -> Callable[..., Awaitable[Principal]]:
    """A dependency: the caller's principal, if its role has ``scope``."""

    async def principal(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> Principal:
        limit: ClientRateLimit = request.app.state.rate_limit
        if credentials is None:
            limit.hit(_client_address(request))
            raise Unauthenticated("this route needs a bearer token (Authorization: Bearer <token>)")
        try:
            found = request.app.state.verifier.verify(credentials.credentials)
        except Unauthenticated:
            limit.hit(_client_address(request))
            raise
        limit.hit(f"{found.role}:{found.subject}")
        found.require(scope)
        request.state.principal = found
        await refuse_nul_characters(request)
        return found

    principal.required_scope = scope  # type: ignore[attr-defined]
    return principal


def needs(scope: str) -> list[Any]:
    """For a route's ``dependencies=``, when the route does not use the principal."""
    return [Depends(require(scope))]


def unprotected_routes(app: FastAPI) -> list[str]:
    """Operations in the app's OpenAPI without the bearer requirement (besides the public
    ones): must be empty. Every ``require`` puts the bearer scheme on its operation."""
    methods = {"get", "put", "post", "delete", "patch", "head", "options"}
    return [
        f"{method.upper()} {path}"
        for path, operations in app.openapi().get("paths", {}).items()
        if path not in PUBLIC_PATHS
        for method, operation in operations.items()
        if method in methods and not operation.get("security")
    ]


def check_own_agency(principal: Principal, agency: str) -> None:
    """An agency's token reaches only its own agency's cases."""
    if principal.role == "agency" and principal.agency != agency:
        raise Forbidden(f"agency {principal.agency} may not reach agency {agency}'s cases")


__all__ = [
    "Forbidden", "PUBLIC_PATHS", "Principal", "RateLimited", "Unauthenticated",
    "check_own_agency", "install_security", "needs", "require", "unprotected_routes",
]
