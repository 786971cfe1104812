"""Background work of the reporting service: keep aggregates and cost tables in step with
the facts. Each round is one transaction; a failed round is logged and tried again."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import structlog

log = structlog.get_logger(__name__)


async def refresh_loop(refresh: Callable[[], Awaitable[int]], every_seconds: float) -> None:
    while True:
        try:
            days = await refresh()
            if days:
                log.debug("reporting_aggregates_refreshed", days=days)
        except Exception as error:  # noqa: BLE001 - the next round retries
            log.warning("reporting_refresh_failed", error=repr(error))
        await asyncio.sleep(every_seconds)
