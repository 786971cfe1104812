"""The CI skip gate (tests/conftest.py, tests/allowed_skips.py): a skip that is not on the
allow-list fails a run with SK_FAIL_ON_SKIP=1 (what ``.ci/run`` sets) and only warns
otherwise; an allowed one passes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.allowed_skips import ALLOWED, allowed

ROOT = Path(__file__).resolve().parents[2]
PROBE = '''
import pytest

def test_runs():
    assert True

def test_skips():
    pytest.skip("a reason nobody wrote down")

@pytest.fixture
def needs_something():
    pytest.skip("a fixture that gives up")

def test_skips_in_setup(needs_something):
    pass
'''


def run_probe(tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    probe = tmp_path / "test_probe.py"
    probe.write_text(PROBE)
    environment = {k: v for k, v in os.environ.items() if k not in ("CI", "SK_FAIL_ON_SKIP")} | env
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "tests.conftest", "--rootdir", str(tmp_path),
         "-p", "no:cacheprovider", str(probe)],
        cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120, check=False,
    )


def test_an_unlisted_skip_fails_a_ci_run_and_names_the_test(tmp_path):
    result = run_probe(tmp_path, SK_FAIL_ON_SKIP="1")
    assert result.returncode == 1, result.stdout
    assert "UNEXPECTED SKIP test_probe.py::test_skips: a reason nobody wrote down" in result.stdout
    assert "UNEXPECTED SKIP test_probe.py::test_skips_in_setup: a fixture that gives up" in result.stdout
    assert "2 unexpected skip(s): FAILS this run" in result.stdout


def test_ci_set_by_the_ci_system_is_enough(tmp_path):
    assert run_probe(tmp_path, CI="true").returncode == 1


def test_outside_ci_the_same_skips_are_reported_but_pass(tmp_path):
    result = run_probe(tmp_path)
    assert result.returncode == 0, result.stdout
    assert "would fail a CI run" in result.stdout


def test_every_allowed_skip_says_why_and_matches_only_its_reason():
    assert ALLOWED, "the list exists"
    for entry in ALLOWED:
        assert len(entry.why) > 40, entry
    distributed = "tests/e2e/test_distributed.py::test_intake_keeps_accepting_while_kafka_is_down_and_everything_flows_after"
    assert allowed(distributed, "needs control over the servers (they come from testcontainers)")
    assert not allowed(distributed, "needs control over the servers (they come from environment)")
    assert not allowed("tests/e2e/test_dashboard.py::test_the_dashboard_draws_every_chart_from_the_store",
                       "needs Debian's chromium (apt-get install -y chromium)")
