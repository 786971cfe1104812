"""Per-agency configuration (SK_AGENCY_CONFIG, SK_AGENCY_ENDPOINTS, SK_AGENCY_SECRETS),
data minimisation, and what production refuses."""

from __future__ import annotations

import json

import httpx
import pytest

from services.agency_gateway.adapters.agency_client import AgencyClient
from services.agency_gateway.bootstrap import bootstrap
from services.agency_gateway.config import ConfigurationError, GatewaySettings
from services.agency_gateway.domain.minimisation import minimise
from shared.catalog import load_catalog
from shared.signing import check, dev_secret

CASE = {
    "case_id": "q-1",
    "visit_id": "v-1",
    "office_id": "malmo",
    "agency": "polisen",
    "case_type": "pass",
    "text": "Jag har tappat mitt pass",
    "personal_identity_number": "198112189876",
    "destination": "agency_system",
    "routed_at": "2025-03-01T09:00:00+00:00",
}
AGENCIES = sorted(load_catalog().agency_names)


def write(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_a_yaml_file_sets_each_agency_with_defaults_and_the_env_endpoints_win(tmp_path, monkeypatch):
    monkeypatch.setenv("POLISEN_SECRET", "from-the-environment")
    path = write(
        tmp_path,
        "agencies.yaml",
        """
defaults: {timeout_seconds: 7, retry: {initial_seconds: 1, max_attempts: 9}}
agencies:
  polisen:
    endpoint: https://cases.polisen.example/
    secret_env: POLISEN_SECRET
    token: t0ken
    timeout_seconds: 2
    retry: {max_seconds: 60}
    max_in_flight: 2
    fields: [case_type, text]
  skatteverket: {endpoint: https://skv.example/cases}
""",
    )
    monkeypatch.setenv("SK_AGENCY_ENDPOINTS", '{"skatteverket": "https://override.example"}')
    settings = GatewaySettings(agency_config=path)
    polisen, skv = settings.target("polisen"), settings.target("skatteverket")
    assert (polisen.endpoint, polisen.secret, polisen.token) == (
        "https://cases.polisen.example",
        "from-the-environment",
        "t0ken",
    )
    assert (polisen.timeout_seconds, polisen.max_in_flight, polisen.fields) == (2, 2, ("case_type", "text"))
    assert (polisen.policy.initial, polisen.policy.maximum, polisen.policy.max_attempts) == (1, 60, 9)
    assert skv.endpoint == "https://override.example" and skv.timeout_seconds == 7
    assert skv.secret == dev_secret("skatteverket") and skv.secret_is_dev
    assert not settings.uses_simulator and settings.target("kronofogden").uses_simulator
    assert "from-the-environment" not in repr(polisen) + json.dumps(polisen.public())


@pytest.mark.parametrize(
    "text",
    [
        '{"agencies": {"nasa": {}}}',
        '{"agencies": {"polisen": {"fields": ["shoe_size"]}}}',
        '{"agencies": {"polisen": {"endpoint": "ftp://x"}}}',
        '{"agencies": {"polisen": {"secret_env": "NOT_SET_ANYWHERE"}}}',
        "{not json",
    ],
    ids=["unknown-agency", "unknown-field", "not-http", "secret-env-unset", "unreadable"],
)
def test_a_bad_agency_file_stops_the_start_with_a_clear_error(tmp_path, text):
    settings = GatewaySettings(agency_config=write(tmp_path, "agencies.json", text))
    with pytest.raises(ConfigurationError, match="SK_AGENCY_CONFIG|secret of polisen"):
        bootstrap(settings)


def test_the_allow_list_keeps_the_identifying_fields_and_only_what_it_names():
    assert minimise(CASE, "polisen", ["text"]) == {
        "case_id": "q-1",
        "agency": "polisen",
        "case_type": "pass",
        "text": "Jag har tappat mitt pass",
    }


def test_the_identity_number_never_goes_to_an_agency_not_responsible_for_the_case():
    assert "personal_identity_number" in minimise(CASE, "polisen", CASE)
    assert "personal_identity_number" not in minimise(CASE, "skatteverket", CASE)


def test_the_request_carries_the_minimised_body_key_agency_and_a_valid_signature(tmp_path):
    path = write(tmp_path, "a.json", '{"agencies": {"polisen": {"fields": ["case_type"], "token": "T"}}}')
    target = GatewaySettings(agency_config=path).target("polisen")
    client = AgencyClient(httpx.AsyncClient(), clock=lambda: 1_750_000_000)
    url, headers, body = client.request(target, "q-1", CASE)
    assert json.loads(body) == {"case_id": "q-1", "agency": "polisen", "case_type": "pass"}
    assert headers["Idempotency-Key"] == "q-1" and headers["Authorization"] == "Bearer T"
    assert headers["X-Servicekontor-Agency"] == "polisen"
    stamp, signature = headers["X-Servicekontor-Timestamp"], headers["X-Servicekontor-Signature"]
    assert check(dev_secret("polisen"), stamp, signature, body, now=1_750_000_000) is None


def production(**values) -> GatewaySettings:
    endpoints = {code: f"https://{code}.example/cases" for code in AGENCIES}
    secrets = {code: "x" * 40 + code for code in AGENCIES}
    return GatewaySettings(
        environment="production",
        **{"agency_endpoints": endpoints, "agency_secrets": secrets} | values,
    )


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        ({"agency_secrets": {}}, "development secret is refused"),
        ({"agency_secrets": {"polisen": dev_secret("polisen")}}, "no secret for"),
        ({"agency_secrets": {c: "short" for c in AGENCIES}}, "shorter than 32"),
        ({"agency_endpoints": {c: f"http://{c}.example" for c in AGENCIES}}, "not https"),
        (
            {"agency_endpoints": {c: f"http://127.0.0.1:8009/v1/agencies/{c}/cases" for c in AGENCIES}},
            "point at the agency simulator",
        ),
    ],
    ids=["no-secrets", "dev-secret", "short-secret", "plain-http", "simulator-url"],
)
def test_production_refuses_development_secrets_and_the_simulator(change, complaint):
    with pytest.raises(ConfigurationError, match=complaint):
        bootstrap(production(**change))
