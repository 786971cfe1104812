"""Waiting for a wake-up with a deadline."""

from __future__ import annotations

import asyncio


async def wait_for_wakeup(event: asyncio.Event, seconds: float) -> bool:
    """Wait until ``event`` is set or ``seconds`` pass; True if it was set.

    ``asyncio.timeout`` rather than ``wait_for``: on Python 3.11 ``wait_for`` can swallow
    a cancellation that arrives just as the event is set, and a loop built on it then
    never stops.
    """
    try:
        async with asyncio.timeout(seconds):
            await event.wait()
        return True
    except TimeoutError:
        return False
