from __future__ import annotations

import os
from contextlib import ExitStack

import pytest

from tests.allowed_skips import allowed
from tests.realservers import RealServers, acquire, take_from_environment

# Skips that are not on tests/allowed_skips.py fail a CI run: ``.ci/run`` sets
# SK_FAIL_ON_SKIP=1, and so does any CI that sets ``CI`` (``make test`` there).
_unexpected_skips: list[tuple[str, str]] = []


def pytest_configure(config) -> None:
    take_from_environment()  # only the real_servers fixture hands them out


def strict_skips() -> bool:
    flag = os.environ.get("SK_FAIL_ON_SKIP")
    if flag is not None:
        return flag not in ("", "0", "false", "no")
    return os.environ.get("CI", "").lower() not in ("", "0", "false", "no")


def _skip_message(report) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr)


def _note_skip(report) -> None:
    if not report.skipped or hasattr(report, "wasxfail"):
        return
    message = _skip_message(report)
    if allowed(report.nodeid, message) is None:
        _unexpected_skips.append((report.nodeid, message))


def pytest_runtest_logreport(report) -> None:
    _note_skip(report)


def pytest_collectreport(report) -> None:
    _note_skip(report)


def pytest_terminal_summary(terminalreporter) -> None:
    if not _unexpected_skips:
        return
    verdict = "FAILS this run" if strict_skips() else "would fail a CI run (SK_FAIL_ON_SKIP=1)"
    terminalreporter.section("skips not on tests/allowed_skips.py", sep="=", red=True, bold=True)
    for nodeid, message in _unexpected_skips:
        terminalreporter.line(f"UNEXPECTED SKIP {nodeid}: {message}")
    terminalreporter.line(f"{len(_unexpected_skips)} unexpected skip(s): {verdict}")


def pytest_sessionfinish(session, exitstatus) -> None:
    if _unexpected_skips and strict_skips() and exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(scope="session")
def real_servers() -> RealServers:
    with ExitStack() as stack:
        servers = acquire(stack)
        if isinstance(servers, str):
            pytest.skip(servers)
        yield servers
