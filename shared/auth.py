"""Authentication and roles: signed JWT bearer tokens (EdDSA, Ed25519 keys).

Why JWT and not opaque tokens: in distributed mode each service verifies a token with the
public key alone, without a shared token table on the request path; the private key that
signs stays with whoever issues credentials (the ``servicekontor token`` command, or on the
embedded default the first start, which writes ``<data_dir>/auth/``). Scopes follow from
the role on the server side, so a role's rights change without reissuing tokens.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from shared.catalog import load_catalog
from shared.errors import DomainError

ISSUER = AUDIENCE = "servicekontor"
# Tokens the embedded system writes to credentials.json, and `servicekontor token`'s
# default, last this long (docs/security.md).
EMBEDDED_TOKEN_DAYS = 30
# Claims read from a token; any of them present must be a string (``scope`` is never
# read, scopes follow from the role, but a token carrying a malformed one is refused).
_STRING_CLAIMS = ("sub", "role", "agency", "scope", "jti")

_DESK = {
    "visits:write", "visits:call", "visits:read", "questions:write", "questions:resolve",
    "decisions:read", "decisions:override", "deliveries:read", "offices:read", "queue:read",
}
# Meetings with an agency's official (docs/bookings.md): the kiosk books self-service case
# types and checks in with a code; desks book, read, cancel and record outcomes; offices'
# supervisors and administrators publish slots and declare video rooms; an agency publishes
# its own slots through the gateway (``slots:publish``).
_BOOKING_DESK = {"slots:read", "bookings:write", "bookings:read", "bookings:cancel", "bookings:check_in"}
_BOOKING_OFFICE = _BOOKING_DESK | {"slots:publish", "rooms:write"}
ROLE_SCOPES: dict[str, frozenset[str]] = {
    "kiosk": frozenset(
        {"visits:write", "questions:write", "offices:read", "queue:read", "slots:read", "bookings:write",
         "bookings:check_in"}
    ),
    "desk": frozenset(_DESK | _BOOKING_DESK),
    # The office's screen: the queue without visit ids, nothing else.
    "display": frozenset({"offices:read", "queue:read"}),
    "supervisor": frozenset(_DESK | _BOOKING_OFFICE | {"audit:read", "dead_letters:read", "stats:read", "ops:read"}),
    "agency": frozenset({"callbacks:write", "deliveries:read", "offices:read", "slots:publish"}),
    "bi": frozenset({"stats:read", "exports:read", "offices:read"}),
    # Probes and metric scrapers: /ready and /metrics, nothing else.
    "monitor": frozenset({"ops:read"}),
    "admin": frozenset(
        _DESK | _BOOKING_OFFICE | {"audit:read", "dead_letters:read", "dead_letters:replay", "stats:read",
                 "exports:read", "personal_data:erase", "ops:read", "callbacks:write"}
    ),
}


class Unauthenticated(DomainError):
    code = "unauthenticated"
    headers = {"WWW-Authenticate": 'Bearer realm="servicekontor"'}


class Forbidden(DomainError):
    code = "forbidden"


@dataclass(frozen=True)
class Principal:
    subject: str
    role: str
    agency: str | None = None

    @property
    def scopes(self) -> frozenset[str]:
        return ROLE_SCOPES[self.role]

    def require(self, scope: str) -> None:
        if scope not in self.scopes:
            raise Forbidden(f"role {self.role!r} may not {scope}")


class TokenVerifier:
    """Verifies tokens; a token that verified is remembered (bounded, least recently used
    first out) until its ``exp``, so a kiosk's every request does not pay for the EdDSA
    signature check again. Refusals are never remembered: a bad token costs each time."""

    def __init__(self, public_key_pem: bytes, cache_size: int = 4096) -> None:
        self.key = serialization.load_pem_public_key(public_key_pem)
        self.cache_size = cache_size
        self._verified: OrderedDict[str, tuple[Principal, float]] = OrderedDict()

    def verify(self, token: str) -> Principal:
        if (known := self._verified.get(token)) is not None:
            if time.time() < known[1]:
                self._verified.move_to_end(token)
                return known[0]
            del self._verified[token]
        principal, expires = self._check(token)
        self._verified[token] = (principal, expires)
        if len(self._verified) > self.cache_size:
            self._verified.popitem(last=False)
        return principal

    def _check(self, token: str) -> tuple[Principal, float]:
        try:
            claims = jwt.decode(
                token, self.key, algorithms=["EdDSA"], audience=AUDIENCE, issuer=ISSUER,
                options={"require": ["exp", "sub", "role"]},
            )
        except jwt.PyJWTError as error:
            raise Unauthenticated(f"invalid token: {type(error).__name__}") from error
        # A genuine signature says who made the token, not that its claims are sane: each
        # claim we read is a string (or absent), else 401, never a server error.
        for name in _STRING_CLAIMS:
            if name in claims and not isinstance(claims[name], str):
                raise Unauthenticated(f"invalid token: claim {name!r} is not a string")
        role = claims["role"]
        if role not in ROLE_SCOPES:
            raise Unauthenticated("invalid token: unknown role")
        agency = claims.get("agency")
        if role == "agency" and not load_catalog().is_agency(agency or ""):
            raise Unauthenticated("invalid token: agency token without a known agency")
        return Principal(claims["sub"], role, agency), float(claims["exp"])


class TokenIssuer:
    def __init__(self, private_key_pem: bytes) -> None:
        self.key = serialization.load_pem_private_key(private_key_pem, password=None)

    def issue(
        self, subject: str, role: str, agency: str | None = None, days: int = EMBEDDED_TOKEN_DAYS,
        seconds: int | None = None,
    ) -> str:
        """Valid for ``seconds`` if given (e.g. a probe's one request), else ``days``."""
        if role not in ROLE_SCOPES:
            raise ValueError(f"unknown role {role!r}; roles: {sorted(ROLE_SCOPES)}")
        now = int(time.time())
        claims = {
            "iss": ISSUER, "aud": AUDIENCE, "sub": subject, "role": role,
            "iat": now, "exp": now + (seconds if seconds is not None else days * 86400), "jti": uuid.uuid4().hex,
        }
        if agency:
            claims["agency"] = agency
        return jwt.encode(claims, self.key, algorithm="EdDSA")


def _write_private(path: Path, data: bytes) -> None:
    """Owner-only, and whole or not at all: written beside, then renamed over the old one,
    so a reader (a command, a test, another process starting) never sees half a file."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.chmod(partial, 0o600)
    os.replace(partial, path)


def auth_dir(data_dir: Path) -> Path:
    """Where an installation keeps its signing key pair and master key (development)."""
    return Path(data_dir).resolve() / "auth"


def ensure_keys(auth_dir: Path) -> tuple[bytes, bytes]:
    """The signing key pair of an embedded installation, made on first use (0600)."""
    private_path, public_path = auth_dir / "private.pem", auth_dir / "public.pem"
    if not private_path.exists():
        key = Ed25519PrivateKey.generate()
        _write_private(private_path, key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ))
        public_path.write_bytes(key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ))
    return private_path.read_bytes(), public_path.read_bytes()


# credentials.json is written again at a start when a token in it has less than this left.
RENEW_BEFORE_SECONDS = 7 * 86400


def ensure_credentials(data_dir: Path) -> Path:
    """``<data_dir>/credentials.json`` (0600): one token per role and one per agency,
    each valid ``EMBEDDED_TOKEN_DAYS``. Written on the first start and again on a start
    that finds it unreadable, signed by another key, or with a token expiring within
    ``RENEW_BEFORE_SECONDS`` (tokens handed out before stay valid until they expire)."""
    path = data_dir / "credentials.json"
    private_pem, public_pem = ensure_keys(auth_dir(data_dir))
    if path.exists() and _credentials_current(path, public_pem):
        return path
    issuer = TokenIssuer(private_pem)
    tokens = {role: issuer.issue(f"embedded-{role}", role) for role in ROLE_SCOPES if role != "agency"}
    tokens["agencies"] = {
        code: issuer.issue(f"agency-{code}", "agency", agency=code) for code in load_catalog().agency_names
    }
    _write_private(path, json.dumps(tokens, indent=2).encode())
    return path


def _credentials_current(path: Path, public_pem: bytes) -> bool:
    """Every token in the file verifies with ``public_pem`` and has a week or more left."""
    try:
        tokens = json.loads(path.read_text())
        flat = [t for k, t in tokens.items() if k != "agencies"] + list(tokens["agencies"].values())
        verifier, horizon = TokenVerifier(public_pem), time.time() + RENEW_BEFORE_SECONDS
        for token in flat:
            verifier.verify(token)
            if jwt.decode(token, options={"verify_signature": False})["exp"] < horizon:
                return False
    except (OSError, ValueError, KeyError, TypeError, AttributeError, Unauthenticated):
        return False
    roles = {r for r in ROLE_SCOPES if r != "agency"}
    return set(tokens) - {"agencies"} == roles and set(tokens["agencies"]) == set(load_catalog().agency_names)
