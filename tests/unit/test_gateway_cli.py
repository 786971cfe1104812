"""``servicekontor gateway ...`` commands that need no running service."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from servicekontor.cli import app
from shared.signing import dev_secret

runner = CliRunner()


def test_dev_secret_prints_the_documented_development_secret():
    result = runner.invoke(app, ["gateway", "dev-secret", "polisen"])
    assert result.exit_code == 0 and result.stdout.strip() == dev_secret("polisen")


def test_check_config_shows_each_agency_without_secrets(monkeypatch):
    monkeypatch.setenv("SK_AGENCY_SECRETS", '{"polisen": "a-very-long-and-secret-value-0123456789"}')
    result = runner.invoke(app, ["gateway", "check-config"])
    assert result.exit_code == 0
    shown = json.loads(result.stdout)
    assert shown["polisen"]["development_secret"] is False and shown["polisen"]["uses_simulator"]
    assert "a-very-long" not in result.stdout


def test_check_config_fails_in_production_without_real_endpoints(monkeypatch):
    monkeypatch.setenv("SK_ENVIRONMENT", "production")
    result = runner.invoke(app, ["gateway", "check-config"])
    assert result.exit_code == 1 and "never sends cases to the agency simulator" in result.output


def test_replay_needs_one_question_or_all():
    result = runner.invoke(app, ["gateway", "replay", "--actor", "eva"])
    assert result.exit_code == 2 and "QUESTION_ID or --all" in result.output
