"""The office pages intake serves: the ticket kiosk, the desk and the waiting-room
display. Each is one HTML file with its own script and style (``entrypoints/web``),
nothing loaded from elsewhere (offices run closed networks), no build step.

The pages are public and carry no data: their scripts send the bearer token the device
was given (``#token=...`` or a form) with every API call. So these routes stay out of
the OpenAPI description (the start-up guard checks that every operation there needs a
token). The content security policy lets a page run only the script that came with it
(a nonce per response) and talk only to this service and, for the desk, routing."""

from __future__ import annotations

import json
import secrets
from functools import cache
from importlib import resources

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

router = APIRouter(tags=["office pages"])
PAGES = ("kiosk", "desk", "display")


@cache
def _file(name: str) -> str:
    return resources.files(__package__).joinpath("web", name).read_text(encoding="utf-8")


def _script_json(data: object) -> str:
    # Inside <script>: keep "</" from closing it.
    return json.dumps(data, ensure_ascii=False).replace("</", "<\\/")


def _config(request: Request, page: str) -> dict:
    runtime = request.app.state.runtime
    config: dict = {"page": page}
    if page == "desk":
        catalog = runtime.deps.catalog
        config["routing_url"] = _routing_url(runtime.settings)
        config["agencies"] = catalog.agency_names
        config["case_types"] = {f"{c.agency}/{c.code}": c.name for c in catalog.case_types.values()}
    return config


def _routing_url(settings: object) -> str | None:
    url = getattr(settings, "routing_public_url", None)
    return url.rstrip("/") if url else None


def render(request: Request, page: str) -> HTMLResponse:
    nonce = secrets.token_urlsafe(16)
    html = (
        _file(f"{page}.html")
        .replace("/*__COMMON_CSS__*/", _file("common.css"))
        .replace("/*__COMMON_JS__*/", _file("common.js"))
        .replace("__CONFIG__", _script_json(_config(request, page)))
        .replace("__NONCE__", nonce)
    )
    routing = _routing_url(request.app.state.runtime.settings) if page == "desk" else None
    return HTMLResponse(html, headers=_headers(nonce, routing))


def _headers(nonce: str, routing: str | None) -> dict[str, str]:
    connect = "'self'" + (f" {routing}" if routing else "")
    csp = (
        f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'unsafe-inline'; "
        f"connect-src {connect}; img-src 'self' data:; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'none'"
    )
    return {
        "content-security-policy": csp,
        "referrer-policy": "no-referrer",
        "x-content-type-options": "nosniff",
        "cache-control": "no-store",
    }


@router.get("/kiosk", response_class=HTMLResponse, include_in_schema=False)
async def kiosk(request: Request) -> HTMLResponse:
    """``?office=<office_id>`` (``&reset=<seconds>``, ``&print=1`` for kiosks that print
    at once)."""
    return render(request, "kiosk")


@router.get("/desk", response_class=HTMLResponse, include_in_schema=False)
async def desk(request: Request) -> HTMLResponse:
    return render(request, "desk")


@router.get("/display", response_class=HTMLResponse, include_in_schema=False)
async def display(request: Request) -> HTMLResponse:
    """``?office=<office_id>``."""
    return render(request, "display")
