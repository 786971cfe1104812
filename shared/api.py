"""What every service's FastAPI app shares: JSON errors in the contract shape, a body
size limit, request logging with request ids, ``/health``, ``/ready`` and ``/metrics``."""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import structlog
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared import tracing
from shared.auth import Forbidden, Unauthenticated
from shared.errors import Conflict, DomainError, InvalidInput, NotFound
from shared.input_checks import refuse_nul_characters
from shared.metrics import HttpMetrics, RouteTemplates, install_metrics
from shared.security import RateLimited, install_security, require

log = structlog.get_logger("http")

_STATUS = {NotFound: 404, Conflict: 409, InvalidInput: 422, Unauthenticated: 401, Forbidden: 403, RateLimited: 429}


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details}}


def status_of(error: DomainError) -> int:
    for cls in type(error).__mro__:
        if cls in _STATUS:
            return _STATUS[cls]
    return 400


async def _domain_error(_request: Request, error: DomainError) -> JSONResponse:
    body = error_body(error.code, error.message, error.details)
    return JSONResponse(body, status_of(error), headers=error.headers)


async def _validation_error(_request: Request, error: RequestValidationError) -> JSONResponse:
    details = [
        {"location": list(e.get("loc", ())), "problem": e.get("msg"), "type": e.get("type")}
        for e in error.errors()
    ]
    return JSONResponse(error_body("validation_error", "the request is not valid", details), 422)


async def _http_error(_request: Request, error: StarletteHTTPException) -> JSONResponse:
    code = {400: "bad_request", 404: "not_found", 405: "method_not_allowed", 413: "body_too_large"}.get(
        error.status_code, "http_error"
    )
    return JSONResponse(error_body(code, str(error.detail)), error.status_code)


ERROR_SCHEMA: dict[str, Any] = {
    "title": "Error",
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "details"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "details": {},
            },
        }
    },
}
_ERROR_REF = {"$ref": "#/components/schemas/Error"}
_ERRORS = {
    400: "the body cannot be read (not UTF-8 JSON)",
    401: "no valid bearer token",
    403: "the token's role lacks the route's scope",
    404: "no such resource",
    409: "the resource's state does not allow this",
    413: "request body too large",
    422: "the request is not valid",
    429: "too many requests from this client (see Retry-After)",
}


def document_errors(openapi: dict[str, Any]) -> dict[str, Any]:
    """The error answers every route can give, in the API description with the body they
    really have (``{"error": {...}}``, not FastAPI's default ``{"detail": ...}``): 401,
    403 and 429 on routes that need a token, 404 on routes with path parameters, 400, 409
    and 413 on routes with a request body, 422 wherever there is input."""
    openapi.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    openapi["components"]["schemas"].pop("HTTPValidationError", None)
    openapi["components"]["schemas"].pop("ValidationError", None)
    for operations in openapi.get("paths", {}).values():
        for operation in operations.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            params = operation.get("parameters", [])
            statuses: set[int] = set()
            if operation.get("security"):
                statuses |= {401, 403, 429}
            if any(p.get("in") == "path" for p in params):
                statuses.add(404)
            if "requestBody" in operation:
                statuses |= {400, 409, 413, 422}
            if params:
                statuses.add(422)
            responses = operation["responses"]
            for status in sorted(statuses):
                responses.setdefault(str(status), {"description": _ERRORS[status]})
            for status, response in responses.items():
                if status.isdigit() and int(status) >= 400 and int(status) in _ERRORS:
                    response["content"] = {"application/json": {"schema": _ERROR_REF}}
    return openapi


def _with_documented_errors(app: FastAPI) -> Callable[[], dict[str, Any]]:
    plain = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document_errors(plain())
        return app.openapi_schema

    return openapi


async def _unexpected_error(_request: Request, error: Exception) -> JSONResponse:
    log.exception("unhandled_error", error_type=type(error).__name__)
    return JSONResponse(error_body("internal_error", "internal error"), 500)


class HttpEdge:
    """The one middleware of every service app (pure ASGI: Starlette's BaseHTTPMiddleware
    costs a task and a stream per request, and a chain of them a frame and a ``send``
    wrapper each). For every HTTP request it

    - takes the request id from ``x-request-id`` (or makes one), binds it for every log
      call inside the request and returns it as a header;
    - refuses a body over ``max_bytes`` with 413 before the route reads it (a declared
      ``content-length`` at once, a streamed body as it arrives);
    - counts the request by method, route template and status and times it (Prometheus,
      ``shared.metrics``): the status the client gets, an exception as the 500 the outer
      error handler turns it into; a cancelled request (client gone) is not counted;
    - writes one log line, with the route template (``/v1/visits/{visit_id}``), never the
      raw path: a path holds ids and whatever a caller puts in it (an identity number,
      15,000 digits), and neither belongs in a log nor should cost the scrubber time. A
      path no route matches (a 404, a 405, or a request refused before routing) is
      ``unmatched``.
    """

    def __init__(self, app: ASGIApp, max_bytes: int, metrics: HttpMetrics, router: Any) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.metrics = metrics
        self.templates = RouteTemplates(router)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id, declared = "", None
        for name, value in scope["headers"]:  # the last of repeated headers wins
            if name == b"x-request-id":
                request_id = value.decode("latin-1")[:64]
            elif name == b"content-length":
                declared = value
        request_id = request_id or uuid.uuid4().hex
        id_header = (b"x-request-id", request_id.encode())
        status = 500

        async def send_noted(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), id_header]
            await send(message)

        structlog.contextvars.bind_contextvars(request_id=request_id)
        try:
            if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
                await self._refuse(send_noted)
            else:
                await self.app(scope, self._limited(receive), send_noted)
        except Exception:  # not a cancelled request: the client gets no answer to count
            self._observe(scope, status, started)
            raise
        else:
            self._observe(scope, status, started)
        finally:
            structlog.contextvars.unbind_contextvars("request_id")
            principal = scope.get("state", {}).get("principal")
            log.info(
                "request",
                method=scope["method"],
                route=self.templates.of(scope),
                status=status,
                ms=round((time.perf_counter() - started) * 1000, 1),
                request_id=request_id,
                caller=f"{principal.role}:{principal.subject}" if principal else None,
            )

    def _observe(self, scope: Scope, status: int, started: float) -> None:
        route = self.templates.of(scope)
        self.metrics.observe(scope["method"], route, status, time.perf_counter() - started)

    def _limited(self, receive: Receive) -> Receive:
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                raise StarletteHTTPException(413, "request body too large")
            return message

        return limited_receive

    async def _refuse(self, send: Send) -> None:
        response = JSONResponse(
            error_body("body_too_large", f"request body over {self.max_bytes} bytes"), 413
        )
        await response({"type": "http"}, _no_receive, send)


async def _no_receive() -> Message:  # pragma: no cover - never called
    return {"type": "http.disconnect"}


def create_app(
    title: str,
    ready_check: Callable[[], Awaitable[dict[str, bool]]],
    lifespan: Callable[[FastAPI], AbstractAsyncContextManager[None]] | None = None,
    max_body_bytes: int = 64 * 1024,
    security: Any = None,
) -> FastAPI:
    """``security``: the service's settings, to require tokens (``shared.security``);
    None leaves the app open (the agency simulator, which stands in for the agencies)."""
    app = FastAPI(
        title=title, version="0.1.0", lifespan=lifespan,
        # With security, ``require`` checks the input after the token (401 comes first).
        dependencies=[] if security is not None else [Depends(refuse_nul_characters)],
    )
    app.openapi = _with_documented_errors(app)  # type: ignore[method-assign]
    ops: list[Any] = []
    if security is not None:
        install_security(app, security)
        ops = [Depends(require("ops:read"))]
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)

    @app.get("/health", tags=["ops"])
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/ready", tags=["ops"], dependencies=ops)
    async def ready() -> JSONResponse:
        checks = await ready_check()
        ok = all(checks.values())
        return JSONResponse({"ready": ok, "checks": checks}, 200 if ok else 503)

    # Outermost but for CORS: it counts and logs what it refuses itself (413).
    app.add_middleware(HttpEdge, max_bytes=max_body_bytes, metrics=install_metrics(app, ops), router=app.router)
    if origins := getattr(security, "cors_origins", None):
        # Tokens travel as bearer headers, never cookies: no credentials mode is needed.
        app.add_middleware(
            CORSMiddleware, allow_origins=list(origins), allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type", "Idempotency-Key"], max_age=600,
        )
    tracing.instrument_app(app, service_of(title), security)
    return app


def service_of(title: str) -> str:
    """``servicekontor agency gateway`` -> ``agency_gateway`` (the tracing service name);
    the simulator's title ends in a parenthesis, which is dropped."""
    return title.removeprefix("servicekontor ").split(" (")[0].strip().replace(" ", "_")
