"""Reporting's router: every route module's routes in one (bootstrap mounts this)."""

from __future__ import annotations

from fastapi import APIRouter

from services.reporting.entrypoints import (
    analytics_api,
    audit_api,
    dashboard,
    day_api,
    export_api,
    meetings_api,
    stats_api,
    steering_api,
)

router = APIRouter()
for part in (stats_api.router, analytics_api.router, day_api.router, steering_api.router, meetings_api.router, export_api.router, audit_api.router, dashboard.router):
    router.include_router(part)
