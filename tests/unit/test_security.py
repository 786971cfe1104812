"""shared/security.py: the key a service verifies with, the start-up guard against a
route without a scope, and the per-client rate limit."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from fastapi import APIRouter

from shared.auth import ensure_keys
from shared.bootstrap import build_runtime
from shared.security import ClientRateLimit, RateLimited, load_public_key, needs
from shared.settings import ServiceSettings
from shared.unit_of_work import SqlUnitOfWork


def settings(tmp_path, **values):
    base = {"auth_public_key": None, "auth_public_key_file": None, "environment": "development",
            "data_dir": tmp_path}
    return SimpleNamespace(**(base | values))


def test_development_falls_back_to_the_installations_own_key_pair(tmp_path):
    assert load_public_key(settings(tmp_path)) == ensure_keys(tmp_path / "auth")[1]


def test_production_needs_a_configured_public_key(tmp_path):
    with pytest.raises(SystemExit, match="SK_AUTH_PUBLIC_KEY"):
        load_public_key(settings(tmp_path, environment="production"))
    pem = ensure_keys(tmp_path / "elsewhere")[1]
    (tmp_path / "public.pem").write_bytes(pem)
    file_setting = settings(tmp_path, environment="production", auth_public_key_file=tmp_path / "public.pem")
    assert load_public_key(file_setting) == pem
    assert load_public_key(settings(tmp_path, environment="production", auth_public_key=pem.decode())) == pem


class DemoSettings(ServiceSettings):
    service_name = "demo"


def test_a_service_with_a_route_that_declares_no_scope_does_not_start(tmp_path):
    router = APIRouter()

    @router.get("/v1/guarded", dependencies=needs("stats:read"))
    async def guarded() -> dict[str, str]:
        return {}

    @router.get("/v1/forgotten")
    async def forgotten() -> dict[str, str]:
        return {}

    with pytest.raises(RuntimeError, match="forgotten"):
        build_runtime("demo", DemoSettings(data_dir=tmp_path), None, tables=[], uow_class=SqlUnitOfWork, router=router)


def test_the_rate_limit_counts_each_client_apart_and_says_when_to_retry():
    limit = ClientRateLimit("2/minute")
    limit.hit("desk:anna")
    limit.hit("desk:anna")
    limit.hit("desk:bo")
    with pytest.raises(RateLimited) as refused:
        limit.hit("desk:anna")
    assert 1 <= refused.value.retry_after <= 61
    unlimited = ClientRateLimit("")
    for _ in range(1000):
        unlimited.hit("desk:anna")
