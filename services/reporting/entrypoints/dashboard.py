"""The dashboard: one HTML page with its own small script drawing inline SVG charts from
the stats API. Nothing is loaded from elsewhere (the page works on a closed network)."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, RedirectResponse

from services.reporting.entrypoints.deps import DepsDep
from shared.catalog import Catalog
from shared.offices import OfficeRegistry

router = APIRouter(tags=["reporting dashboard"])


@cache
def _template(name: str = "dashboard.html") -> str:
    return resources.files(__package__).joinpath("web", name).read_text(encoding="utf-8")


def _catalog_json(catalog: Catalog, offices: OfficeRegistry) -> str:
    data = {
        "agencies": catalog.agency_names,
        "short": catalog.agency_short,
        "offices": {o.id: o.name for o in offices},
        "case_types": {f"{c.agency}/{c.code}": c.name for c in catalog.case_types.values()},
        "shares": {f"{c.agency}/{c.code}": c.share for c in catalog.case_types.values() if c.share},
    }
    # Inside <script>: keep "</" from closing it.
    return json.dumps(data, ensure_ascii=False).replace("</", "<\\/")


@router.get("/dashboard", response_class=HTMLResponse, include_in_schema=False)
async def dashboard(deps: DepsDep) -> HTMLResponse:
    page = _template().replace("__CATALOG__", _catalog_json(deps.catalog, deps.offices))
    return HTMLResponse(page, headers={"content-security-policy": _CSP})


@router.get("/dashboard/styrning", response_class=HTMLResponse, include_in_schema=False)
async def steering(deps: DepsDep) -> HTMLResponse:
    """The steering page (Swedish): workload and cost, quality, unnecessary demand and
    staffing per office, with the spread across the network."""
    page = _template("steering.html").replace("__CATALOG__", _catalog_json(deps.catalog, deps.offices))
    return HTMLResponse(page, headers={"content-security-policy": _CSP})


@router.get("/", include_in_schema=False)
async def home() -> RedirectResponse:
    return RedirectResponse("/dashboard")


# Everything the page uses is its own: no other origin may be reached.
_CSP = (
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
    "connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'"
)
