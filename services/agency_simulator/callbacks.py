"""Status callbacks, as an agency would send them: once a case is taken, ``received``,
``in_progress``, ``decided`` and ``closed`` follow, ``delay`` seconds apart, each signed
with the agency's secret and retried a few times (tenacity) if the gateway is away. Once a
meeting is taken: ``accepted``, then for some meetings the agency's own move or
cancellation (``meetings``). The same signing publishes an agency's slots.

Stopping (``drain``, and ``close``): the agency does not take its pending statuses with it;
every status still owed is sent at once, in order, within a bound, while the gateway still
listens; only what is still unsent then is dropped (and logged)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import structlog
from tenacity import AsyncRetrying, RetryError, stop_after_attempt, wait_exponential_jitter

from shared import tracing
from shared.signing import AGENCY_HEADER, signed_headers

log = structlog.get_logger("agency_simulator")
STATUSES = ("received", "in_progress", "decided", "closed")


@dataclass(frozen=True)
class Change:
    """One meeting callback: its status, the new time when moved, and what the agency
    does in its own books first (``apply``)."""

    status: str
    slot_start: datetime | None = None
    apply: Callable[[], Awaitable[object]] | None = None


class CallbackSender:
    def __init__(
        self,
        base_url: str,
        secret_for: Callable[[str], str],
        delay: float = 1.0,
        token_for: Callable[[str], str] | None = None,
    ) -> None:
        """``token_for``: the agency's bearer token for the gateway (role agency)."""
        self.base_url = base_url.rstrip("/")
        self.secret_for = secret_for
        self.token_for = token_for
        self.delay = delay
        self.http = httpx.AsyncClient(timeout=5.0)
        tracing.instrument_client(self.http, "agency_simulator")  # callbacks carry the trace
        self.tasks: set[asyncio.Task[None]] = set()
        self.sent = 0
        self.hurry = asyncio.Event()  # set: no more waiting between statuses

    def schedule(self, agency: str, case_id: str, reference: str) -> None:
        task = asyncio.create_task(self._follow(agency, case_id, reference))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _follow(self, agency: str, case_id: str, reference: str) -> None:
        for status in STATUSES:
            await self._pause()
            body = {
                "callback_id": str(uuid.uuid4()),
                "case_id": case_id,
                "status": status,
                "reference": reference,
                "occurred_at": datetime.now(UTC).isoformat(),
            }
            try:
                await self._send(agency, body)
            except (RetryError, httpx.HTTPError):
                log.warning("callback_not_delivered", agency=agency, status=status)
                return

    def schedule_meeting(self, agency: str, booking_id: str, reference: str, then: Change | None) -> None:
        """``accepted`` now (after ``delay``), then the agency's own move or cancellation."""
        task = asyncio.create_task(self._follow_meeting(agency, booking_id, reference, then))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _follow_meeting(self, agency: str, booking_id: str, reference: str, then: Change | None) -> None:
        steps: list[Change] = [Change("accepted"), *([then] if then else [])]
        for step in steps:
            await self._pause()
            if step.apply is not None:
                await step.apply()
            body = {
                "callback_id": str(uuid.uuid4()),
                "booking_id": booking_id,
                "status": step.status,
                "reference": reference,
                "occurred_at": datetime.now(UTC).isoformat(),
                **({"slot_start": step.slot_start.isoformat()} if step.slot_start else {}),
            }
            try:
                await self._send(agency, body, f"/v1/agencies/{agency}/meeting-callbacks")
            except (RetryError, httpx.HTTPError):
                log.warning("meeting_callback_not_delivered", agency=agency, status=step.status)
                return

    async def publish_slots(self, agency: str, slots: dict[str, Any]) -> httpx.Response:
        """Publish slots as ``agency`` (``POST /v1/agency/slots``, signed); the answer."""
        return await self._send(agency, {"agency": agency, **slots}, "/v1/agency/slots")

    async def _send(self, agency: str, body: dict[str, Any], path: str | None = None) -> httpx.Response:
        raw = json.dumps(body, separators=(",", ":")).encode()
        url = f"{self.base_url}{path or f'/v1/agencies/{agency}/callbacks'}"
        retrying = AsyncRetrying(
            stop=stop_after_attempt(4), wait=wait_exponential_jitter(multiplier=0.2, max=2.0)
        )
        async for attempt in retrying:
            with attempt:
                headers = {
                    "Content-Type": "application/json",
                    AGENCY_HEADER: agency,
                    **signed_headers(self.secret_for(agency), int(time.time()), raw),
                }
                if self.token_for is not None:
                    headers["Authorization"] = f"Bearer {self.token_for(agency)}"
                response = await self.http.post(url, content=raw, headers=headers)
                if response.status_code >= 500:
                    response.raise_for_status()
        self.sent += 1
        return response

    async def _pause(self) -> None:
        """``delay`` seconds, unless (or until) the sender is stopping."""
        if self.hurry.is_set():
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.delay):
                await self.hurry.wait()

    async def drain(self, seconds: float = 2.0) -> int:
        """Send every status still owed now, for at most ``seconds``; cancel what is left
        then. Answers how many cases still had statuses to send when it was cut off."""
        self.hurry.set()
        deadline = asyncio.get_running_loop().time() + seconds
        while self.tasks:  # a case taken meanwhile adds a task: it is sent at once too
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                break
            await asyncio.wait(list(self.tasks), timeout=left)
        unsent = [task for task in self.tasks if not task.done()]
        if unsent:
            log.warning("callbacks_not_sent_before_stop", cases=len(unsent))
        for task in unsent:
            task.cancel()
        await asyncio.gather(*unsent, return_exceptions=True)
        return len(unsent)

    async def close(self, flush_seconds: float = 2.0) -> None:
        """Send what is owed (``drain``), then close the HTTP client."""
        try:
            await self.drain(flush_seconds)
        finally:
            await self.http.aclose()
