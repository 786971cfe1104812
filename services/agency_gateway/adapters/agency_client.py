"""The agencies' case endpoints, reached over HTTP (httpx). Builds the exact body bytes,
signs them (``shared.signing``), and maps every answer (or the lack of one) to an
``Outcome``; never raises for what the agency or the network does."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

import httpx

from services.agency_gateway.domain.minimisation import minimise, minimise_meeting
from services.agency_gateway.domain.outcomes import (
    Accepted,
    Outcome,
    Rejected,
    TransientFailure,
)
from services.agency_gateway.domain.targets import AgencyTarget
from shared.personal_data import scrub_text
from shared.signing import (
    AGENCY_HEADER,
    IDEMPOTENCY_HEADER,
    signed_headers,
)

# 4xx answers that mean "not now" rather than "never".
_RETRYABLE_4XX = {408, 425, 429}


def encode(body: dict[str, Any]) -> bytes:
    """The bytes that are signed and sent: compact UTF-8 JSON."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


class AgencyClient:
    def __init__(
        self,
        http: httpx.AsyncClient,
        timeout_seconds: float | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.http = http
        self.timeout_seconds = timeout_seconds  # None: each target's own
        self.clock = clock

    def request(self, target: AgencyTarget, idempotency_key: str, case: dict[str, Any], kind: str = "case"):
        """The URL, headers and body of one attempt (a fresh timestamp each time); a
        booking's delivery (``kind`` meeting...) goes to the agency's meeting endpoints."""
        if kind == "case":
            url, body = target.endpoint, encode(minimise(case, target.agency, target.fields))
        else:
            url = target.meeting_url(kind, str(case.get("meeting_id")))
            body = encode(minimise_meeting(case, target.agency, target.fields))
        headers = {
            "Content-Type": "application/json",
            IDEMPOTENCY_HEADER: idempotency_key,
            AGENCY_HEADER: target.agency,
            **signed_headers(target.secret, int(self.clock()), body),
        }
        if target.token:
            headers["Authorization"] = f"Bearer {target.token}"
        return url, headers, body

    async def send(
        self, target: AgencyTarget, idempotency_key: str, case: dict[str, Any], kind: str = "case"
    ) -> Outcome:
        """POST one case (or meeting change). ``asyncio.timeout`` bounds the whole exchange,
        not only each read, so a slow-dripping agency cannot hold a delivery slot longer."""
        timeout = self.timeout_seconds or target.timeout_seconds
        url, headers, body = self.request(target, idempotency_key, case, kind)
        try:
            async with asyncio.timeout(timeout):
                response = await self.http.post(url, content=body, headers=headers, timeout=timeout)
        except (TimeoutError, httpx.TimeoutException):
            return TransientFailure(f"no answer within {timeout:g} s")
        except httpx.TransportError as error:
            return TransientFailure(f"connection failed: {type(error).__name__}")
        if response.status_code == 404 and kind in ("meeting_move", "meeting_cancellation"):
            # The meeting itself may not be there yet (its own delivery is retrying).
            return TransientFailure(_describe(response))
        return outcome_of(response)


def outcome_of(response: httpx.Response) -> Outcome:
    status = response.status_code
    if 200 <= status < 300:
        reference = _reference(response)
        # The agency took the case but named no reference: sending again with the same
        # key is safe and a well-behaved agency answers 409 with the reference.
        return Accepted(reference) if reference else TransientFailure(_describe(response))
    if status == 409:
        reference = _reference(response)
        return Accepted(reference) if reference else Rejected(_describe(response))
    if 400 <= status < 500 and status not in _RETRYABLE_4XX:
        return Rejected(_describe(response))
    return TransientFailure(_describe(response), _retry_after(response))


def _reference(response: httpx.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    reference = body.get("reference") if isinstance(body, dict) else None
    return str(reference)[:200] if isinstance(reference, str | int) and reference else None


def _describe(response: httpx.Response) -> str:
    """Status and the start of the body, scrubbed: agencies may echo personal data."""
    excerpt = " ".join(response.text[:300].split())
    return scrub_text(f"HTTP {response.status_code}: {excerpt}".rstrip(": "))


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after", "")
    return float(value) if value.isdigit() else None
