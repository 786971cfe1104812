"""Gateway settings: endpoints by agency, the simulator fallback, and never the
simulator in production."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from services.agency_gateway.bootstrap import bootstrap
from services.agency_gateway.config import ConfigurationError, GatewaySettings
from shared.auth import ensure_keys
from shared.catalog import load_catalog


def test_without_endpoints_every_agency_goes_to_the_simulator():
    settings = GatewaySettings(agency_simulator_url="http://sim:9000/")
    assert settings.uses_simulator
    assert settings.endpoint_for("polisen") == "http://sim:9000/v1/agencies/polisen/cases"


def test_a_configured_endpoint_wins(monkeypatch):
    monkeypatch.setenv("SK_AGENCY_ENDPOINTS", '{"polisen": "https://cases.polisen.example/v2/"}')
    settings = GatewaySettings()
    assert not settings.uses_simulator
    assert settings.endpoint_for("polisen") == "https://cases.polisen.example/v2"
    assert settings.endpoint_for("trafikverket").startswith(settings.agency_simulator_url)


def test_defaults_match_the_contract():
    settings = GatewaySettings()
    assert settings.port == 8003
    assert settings.agency_request_timeout_seconds == 5.0
    policy = settings.retry_policy()
    assert (policy.initial, policy.maximum) == (0.5, 30.0) and policy.jitter > 0


@pytest.mark.parametrize(
    "endpoints", [{"nasa": "https://x.example"}, {"polisen": "ftp://x.example"}]
)
def test_unknown_agencies_and_non_http_endpoints_are_refused(endpoints):
    with pytest.raises(ValidationError):
        GatewaySettings(agency_endpoints=endpoints)


def test_production_without_endpoints_refuses_to_start(tmp_path):
    settings = GatewaySettings(environment="production", data_dir=tmp_path)
    with pytest.raises(ConfigurationError, match="simulator"):
        bootstrap(settings)


def test_production_with_an_agency_missing_refuses_to_start(tmp_path):
    endpoints = {code: f"https://{code}.example/cases" for code in load_catalog().agency_names}
    del endpoints["kronofogden"]
    settings = GatewaySettings(
        environment="production", data_dir=tmp_path, agency_endpoints=endpoints
    )
    with pytest.raises(ConfigurationError, match="kronofogden"):
        bootstrap(settings)


MASTER_KEY = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"  # 32 bytes, test only


async def test_production_without_a_master_key_refuses_to_start(tmp_path):
    endpoints = {code: f"https://{code}.example/cases" for code in load_catalog().agency_names}
    secrets = {code: f"{code}-secret-".ljust(40, "x") for code in endpoints}
    settings = GatewaySettings(
        environment="production", data_dir=tmp_path, agency_endpoints=endpoints, agency_secrets=secrets
    )
    with pytest.raises(SystemExit, match="SK_MASTER_KEY"):
        bootstrap(settings)


async def test_production_with_every_endpoint_and_secret_starts(tmp_path):
    endpoints = {code: f"https://{code}.example/cases" for code in load_catalog().agency_names}
    secrets = {code: f"{code}-secret-".ljust(40, "x") for code in endpoints}
    settings = GatewaySettings(
        environment="production",
        data_dir=tmp_path,
        agency_endpoints=endpoints,
        agency_secrets=secrets,
        master_key=MASTER_KEY,
        auth_public_key=ensure_keys(tmp_path / "auth")[1].decode(),
    )
    runtime = bootstrap(settings)
    assert runtime.name == "agency_gateway" and runtime.consumers and runtime.workers
    await runtime.close()
