from __future__ import annotations

from contextlib import ExitStack

import pytest

from tests.realservers import RealServers, acquire


@pytest.fixture(scope="session")
def real_servers() -> RealServers:
    with ExitStack() as stack:
        servers = acquire(stack)
        if isinstance(servers, str):
            pytest.skip(servers)
        yield servers
