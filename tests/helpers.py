"""Small helpers shared by the test layers."""

from __future__ import annotations

import asyncio
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import TypeVar

import httpx

T = TypeVar("T")


def time_factor() -> float:
    """``SK_TEST_TIME_FACTOR`` (default 1): how much slower than usual this machine is now.
    Every deadline the tests wait on (``eventually``, ``wait_until``, a process's stop) is
    multiplied by it, so a busy machine slows the suite down instead of failing it."""
    return max(1.0, float(os.environ.get("SK_TEST_TIME_FACTOR", "1") or 1))


def scaled(seconds: float) -> float:
    return seconds * time_factor()


def random_id() -> str:
    return str(uuid.uuid4())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def eventually(
    probe: Callable[[], Awaitable[T]], done: Callable[[T], bool], timeout: float = 10.0
) -> T:
    """Probe until ``done`` holds; fail the test with the last value after ``timeout``
    (times ``SK_TEST_TIME_FACTOR``)."""
    deadline = time.monotonic() + scaled(timeout)
    while True:
        value = await probe()
        if done(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s; last value: {value!r}")
        await asyncio.sleep(0.05)


def wait_until(predicate: Callable[[], T], timeout: float = 30.0, interval: float = 0.1) -> T:
    """Blocking variant for tests that drive subprocesses."""
    deadline = time.monotonic() + scaled(timeout)
    last: T | None = None
    while time.monotonic() < deadline:
        try:
            last = predicate()
            if last:
                return last
        except (OSError, ConnectionError, httpx.HTTPError) as error:
            last = error  # a server still starting refuses connections  # type: ignore[assignment]
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout} s; last value: {last!r}")


def token(data_dir, role: str = "admin", agency: str | None = None, subject: str | None = None) -> str:
    """A bearer token signed with the installation's key under ``<data_dir>/auth``."""

    from shared.auth import TokenIssuer, auth_dir, ensure_keys

    private_pem, _ = ensure_keys(auth_dir(data_dir))
    return TokenIssuer(private_pem).issue(subject or f"test-{role}", role, agency)


def auth(data_dir, role: str = "admin", agency: str | None = None, subject: str | None = None) -> dict[str, str]:
    """The Authorization header of ``token``."""
    return {"Authorization": f"Bearer {token(data_dir, role, agency, subject)}"}


def api_client(runtime, role: str = "admin", agency: str | None = None) -> httpx.AsyncClient:
    """An in-process client of a service's app, with a token of ``role``."""
    transport = httpx.ASGITransport(app=runtime.app)
    return httpx.AsyncClient(
        transport=transport,
        base_url=f"http://{runtime.name}",
        headers=auth(runtime.settings.data_dir, role, agency),
    )
