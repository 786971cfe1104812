"""The person pseudonym: a keyed hash (HMAC-SHA256) of the normalised identity number.

Reporting links a person's visits by it (repeat contacts) and never sees the identity
number. The key stays in intake: ``SK_PSEUDONYM_KEY`` (base64 of 32 bytes; required in
production), else, in development, a 0600 file ``<data_dir>/auth/pseudonym.key`` made on
first use. Without the key a pseudonym cannot be turned back into an identity number, nor
one recomputed from a guessed number. Neither key nor pseudonym input is ever logged.
"""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

from shared.auth import auth_dir
from shared.vault import load_master_key


class Pseudonymizer:
    def __init__(self, key: bytes) -> None:
        if len(key) < 32:
            raise ValueError("the pseudonym key must be at least 32 bytes")
        self._key = key

    def __repr__(self) -> str:  # never the key
        return "Pseudonymizer(<key>)"

    def of(self, normalised_pin: str) -> str:
        return hmac.new(self._key, normalised_pin.encode(), hashlib.sha256).hexdigest()


def key_file(data_dir: Path) -> Path:
    return auth_dir(data_dir) / "pseudonym.key"


def build_pseudonymizer(settings) -> Pseudonymizer:
    if settings.environment == "production" and not settings.pseudonym_key:
        raise SystemExit("production needs SK_PSEUDONYM_KEY (base64 of 32 random bytes)")
    return Pseudonymizer(load_master_key(settings.pseudonym_key, key_file(settings.data_dir)))
