"""The agencies' case endpoints, reached over HTTP. Maps every answer (or the lack of
one) to an ``Outcome``; never raises for what the agency or the network does."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from services.agency_gateway.domain.outcomes import (
    Accepted,
    Outcome,
    Rejected,
    TransientFailure,
)
from shared.personal_data import scrub_text

# 4xx answers that mean "not now" rather than "never".
_RETRYABLE_4XX = {408, 425, 429}


class AgencyClient:
    def __init__(self, http: httpx.AsyncClient, timeout_seconds: float) -> None:
        self.http = http
        self.timeout_seconds = timeout_seconds

    async def send(self, url: str, idempotency_key: str, case: dict[str, Any]) -> Outcome:
        """POST one case. ``asyncio.timeout`` bounds the whole exchange, not only each
        read, so a slow-dripping agency cannot hold a delivery slot longer."""
        try:
            async with asyncio.timeout(self.timeout_seconds):
                response = await self.http.post(
                    url, json=case, headers={"Idempotency-Key": idempotency_key}
                )
        except (TimeoutError, httpx.TimeoutException):
            return TransientFailure(f"no answer within {self.timeout_seconds:g} s")
        except httpx.TransportError as error:
            return TransientFailure(f"connection failed: {type(error).__name__}")
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
