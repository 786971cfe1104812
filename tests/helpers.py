"""Small helpers shared by the test layers."""

from __future__ import annotations

import asyncio
import fcntl
import os
import random
import socket
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
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


_PORT_LOCKS = Path(tempfile.gettempdir()) / "servicekontor-test-ports"
_held: list = []  # the lock files of the ports this process reserved, open until it exits


def _ephemeral_range() -> tuple[int, int]:
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999


def free_port() -> int:
    """A port for a server that another process (``servicekontor up``) will bind.

    Not one the kernel picked (``bind(0)``): that comes from the ephemeral range, which
    the kernel keeps handing out to other sockets (every outgoing connection) between our
    close and the server's bind. This one lies below that range, so the kernel never hands
    it out by itself, and a lock file held until this process exits keeps every other test
    process (two suites on one machine) off it. In-process servers need none of this:
    they are given a socket bound here (``gateway_support.serve``)."""
    low, _high = _ephemeral_range()
    floor = 20_000 if low > 21_000 else 1_024
    _PORT_LOCKS.mkdir(exist_ok=True)
    start = random.randrange(floor, low)
    for offset in range(low - floor):
        port = floor + (start - floor + offset) % (low - floor)
        lock = (_PORT_LOCKS / f"{port}.lock").open("a")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            lock.close()
            continue
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:  # something outside the tests listens there
                lock.close()
                continue
        _held.append(lock)
        return port
    raise RuntimeError(f"no free port between {floor} and {low}")


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
