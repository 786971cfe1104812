"""Request signatures, both ways (gateway -> agency, agency -> gateway). Standard library
only (``hmac``, ``hashlib``): the agencies implement the same few lines.

The signed message is the timestamp (Unix seconds, ASCII digits), a full stop, and the
exact body bytes: ``f"{timestamp}.".encode() + body``. The signature header carries
``v1=`` and the lowercase hex HMAC-SHA256 of that message under the agency's secret.
Binding the timestamp into the signature is what lets a receiver refuse replays of old
requests: a stale timestamp cannot be changed without breaking the signature.
"""

from __future__ import annotations

import hashlib
import hmac
import re

TIMESTAMP_HEADER = "X-Servicekontor-Timestamp"
SIGNATURE_HEADER = "X-Servicekontor-Signature"
AGENCY_HEADER = "X-Servicekontor-Agency"
IDEMPOTENCY_HEADER = "Idempotency-Key"
SCHEME = "v1"
DEFAULT_TOLERANCE_SECONDS = 300.0
# Development only: with no secret configured, both sides derive the same one from this
# public seed. Anyone can compute it, so production refuses it (see ``config``).
DEV_SECRET_SEED = b"servicekontor-development-only"
# ASCII digits only: ``str.isdigit`` also takes "²" or "٣", which ``int`` refuses.
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
# What a signature value can be: printable ASCII (headers arrive decoded as Latin-1, and
# ``hmac.compare_digest`` refuses non-ASCII text); at most a few rotating values.
_SIGNATURE = re.compile(r"[\x20-\x7e]{1,1000}")


def openapi_parameters() -> list[dict]:
    """The two signature headers as OpenAPI header parameters (docs/agency-api.openapi.yaml),
    for the routes that check them: documented, and fuzzed by the test suite."""
    return [
        {
            "name": TIMESTAMP_HEADER, "in": "header", "required": True,
            "description": "Unix time in seconds when the request was signed (ASCII digits).",
            "schema": {"type": "string", "pattern": "^[0-9]{1,12}$"},
        },
        {
            "name": SIGNATURE_HEADER, "in": "header", "required": True,
            "description": "v1=<hex HMAC-SHA256(secret, timestamp + '.' + body)>; several "
            "comma-separated values allowed.",
            "schema": {"type": "string", "pattern": "^v1=[0-9a-f]{64}(, ?v1=[0-9a-f]{64})*$"},
        },
    ]


def dev_secret(agency: str) -> str:
    """``hex(HMAC-SHA256(key=DEV_SECRET_SEED, msg="agency:" + code))``."""
    return hmac.new(DEV_SECRET_SEED, f"agency:{agency}".encode(), hashlib.sha256).hexdigest()


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"{SCHEME}={mac.hexdigest()}"


def signed_headers(secret: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {TIMESTAMP_HEADER: str(timestamp), SIGNATURE_HEADER: sign(secret, timestamp, body)}


def check(
    secret: str,
    timestamp: str | None,
    signature: str | None,
    body: bytes,
    now: float,
    tolerance: float = DEFAULT_TOLERANCE_SECONDS,
) -> str | None:
    """None if the request is genuine and fresh, else why not (a short code, never the
    body): ``missing_signature``, ``bad_timestamp``, ``stale_timestamp``,
    ``bad_signature``. The signature header may hold several comma-separated values
    (a sender rotating secrets); one match is enough. Any header value is answered with
    one of these codes, never an exception: a timestamp is 1-12 ASCII digits, a signature
    printable ASCII."""
    if not timestamp or not signature:
        return "missing_signature"
    if not _TIMESTAMP.fullmatch(timestamp):
        return "bad_timestamp"
    if not _SIGNATURE.fullmatch(signature):
        return "bad_signature"
    if abs(now - int(timestamp)) > tolerance:
        return "stale_timestamp"
    expected = sign(secret, int(timestamp), body)
    offered = [part.strip() for part in signature.split(",")]
    if not any(hmac.compare_digest(expected, candidate) for candidate in offered):
        return "bad_signature"
    return None
