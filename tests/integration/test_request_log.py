"""The request log (``shared.api.RequestLog``) names the route template, never the raw
path: not for a 200, nor a 401, 404, 413 or 429, and a path of 15,000 digits costs the
scrubber nothing (issue 15, finding 1)."""

from __future__ import annotations

import time

import httpx
import pytest
from fastapi import APIRouter

from services.intake.bootstrap import bootstrap
from services.intake.config import IntakeSettings
from shared.api import create_app
from tests.unit.test_masking_properties import logging_to_buffer

router = APIRouter()
DIGITS = "0123456789" * 1500  # 15,000 digits
PIN = "19811218-9876"


@router.get("/v1/items/{item_id}")
async def get_item(item_id: str) -> dict[str, int]:
    return {"length": len(item_id)}


@router.post("/v1/items/{item_id}/notes", status_code=201)
async def add_note(item_id: str, body: dict) -> dict[str, str]:
    return {"ok": "yes"}


async def all_ready() -> dict[str, bool]:
    return {"database": True}


def client_of(app) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://svc")


def request_lines(lines) -> list[dict]:
    return [line for line in lines() if line.get("event") == "request"]


async def test_the_request_log_writes_the_route_template_not_the_path():
    app = create_app("request log test", all_ready, max_body_bytes=100)
    app.include_router(router)
    with logging_to_buffer() as lines:
        async with client_of(app) as client:
            assert (await client.get(f"/v1/items/{DIGITS}")).status_code == 200
            assert (await client.get(f"/v1/items/{PIN}")).status_code == 200
            assert (await client.get(f"/nowhere/{PIN}/{DIGITS}")).status_code == 404
            too_large = await client.post(f"/v1/items/{PIN}/notes", content=b"x" * 500)
            assert too_large.status_code == 413
        logged = request_lines(lines)
        written = "\n".join(map(str, lines()))
    assert [(line["route"], line["status"]) for line in logged] == [
        ("/v1/items/{item_id}", 200),
        ("/v1/items/{item_id}", 200),
        ("unmatched", 404),
        ("/v1/items/{item_id}/notes", 413),
    ]
    assert all("path" not in line for line in logged)
    assert DIGITS[:20] not in written and "19811218" not in written and "1218-9876" not in written


@pytest.fixture
async def intake(tmp_path):
    runtime = bootstrap(IntakeSettings(data_dir=tmp_path, rate_limit="3/minute"))
    await runtime.init_db()
    yield runtime
    await runtime.close()


async def test_refused_requests_log_the_template_too_and_a_long_path_costs_no_time(intake):
    """No token (401), too many requests (429), with a path of 15,000 digits: the line
    names the route, and the request is answered in milliseconds, not seconds."""
    with logging_to_buffer() as lines:
        async with client_of(intake.app) as client:
            started = time.process_time()
            statuses = [(await client.get(f"/v1/visits/{DIGITS}")).status_code for _ in range(5)]
            spent = time.process_time() - started
        logged = request_lines(lines)
        written = "\n".join(map(str, lines()))
    assert statuses == [401, 401, 401, 429, 429]
    assert {line["route"] for line in logged} == {"/v1/visits/{visit_id}"}
    assert DIGITS[:20] not in written
    assert spent < 1.0, f"five requests took {spent:.2f} s of CPU"  # each took 0.7 s before
