"""The agencies' contract (docs/agency-api.openapi.yaml) says what the code does."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from services.agency_gateway.domain.events import AGENCY_STATUSES
from services.agency_gateway.domain.minimisation import CASE_FIELDS, REQUIRED_FIELDS
from services.agency_gateway.entrypoints.schemas import CallbackIn
from shared.catalog import load_catalog

DOCS = Path(__file__).resolve().parents[2] / "docs"
SPEC = yaml.safe_load((DOCS / "agency-api.openapi.yaml").read_text())
SCHEMAS = SPEC["components"]["schemas"]


def test_the_openapi_file_is_valid_openapi():
    validator = pytest.importorskip("openapi_spec_validator")
    validator.validate(SPEC)


def test_the_documented_case_is_the_case_the_gateway_sends():
    assert set(SCHEMAS["Case"]["properties"]) == set(CASE_FIELDS)
    assert set(SCHEMAS["Case"]["required"]) == set(REQUIRED_FIELDS)
    assert set(SCHEMAS["AgencyCode"]["enum"]) == set(load_catalog().agency_names)


def test_the_documented_callback_is_the_callback_the_gateway_accepts():
    ours = CallbackIn.model_json_schema()
    assert set(SCHEMAS["Callback"]["properties"]) == set(ours["properties"])
    assert set(SCHEMAS["Callback"]["required"]) == set(ours["required"])
    assert SCHEMAS["Callback"]["properties"]["status"]["enum"] == list(AGENCY_STATUSES)


def test_the_guide_names_every_header_and_the_development_secret_formula():
    guide = (DOCS / "agency-api.md").read_text()
    for needle in (
        "Idempotency-Key",
        "X-Servicekontor-Timestamp",
        "X-Servicekontor-Signature",
        "servicekontor-development-only",
        "300 seconds",
    ):
        assert needle in guide
