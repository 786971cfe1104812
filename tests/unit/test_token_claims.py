"""Tokens signed with the right key but carrying claims of the wrong type are refused
(401), never a server error; embedded tokens last 30 days and credentials.json is written
again when its tokens run out or another key signed them."""

from __future__ import annotations

import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from shared.auth import (
    EMBEDDED_TOKEN_DAYS,
    RENEW_BEFORE_SECONDS,
    TokenIssuer,
    TokenVerifier,
    Unauthenticated,
    auth_dir,
    ensure_credentials,
    ensure_keys,
)


def signed(private_pem: bytes, **claims) -> str:
    """A genuine signature over whatever claims are given (the defaults: a desk token)."""
    now = int(time.time())
    body = {"iss": "servicekontor", "aud": "servicekontor", "sub": "anna", "role": "desk",
            "iat": now, "exp": now + 60} | claims
    key = serialization.load_pem_private_key(private_pem, password=None)
    return jwt.encode(body, key, algorithm="EdDSA")


BAD_CLAIMS = [
    {"role": ["admin"]},
    {"role": {"admin": True}},
    {"role": 1},
    {"role": None},
    {"role": "agency", "agency": ["polisen"]},
    {"role": "agency", "agency": {"code": "polisen"}},
    {"role": "agency", "agency": 7},
    {"role": "admin", "agency": ["polisen"]},
    {"sub": ["anna"]},
    {"sub": 17},
    {"sub": None},
    {"scope": ["everything"]},
    {"scope": {"admin": True}},
    {"jti": 5},
]


@pytest.mark.parametrize("claims", BAD_CLAIMS, ids=[json.dumps(c) for c in BAD_CLAIMS])
def test_a_genuine_token_with_a_claim_of_the_wrong_type_is_unauthenticated(tmp_path, claims):
    private, public = ensure_keys(tmp_path)
    with pytest.raises(Unauthenticated):
        TokenVerifier(public).verify(signed(private, **claims))


def test_the_well_formed_token_of_the_same_test_passes(tmp_path):
    private, public = ensure_keys(tmp_path)
    principal = TokenVerifier(public).verify(signed(private, role="agency", agency="polisen", scope="x"))
    assert (principal.subject, principal.role, principal.agency) == ("anna", "agency", "polisen")


def expiry_days(token: str) -> float:
    claims = jwt.decode(token, options={"verify_signature": False})
    return (claims["exp"] - claims["iat"]) / 86400


def test_embedded_tokens_last_thirty_days_as_the_docs_say(tmp_path):
    assert EMBEDDED_TOKEN_DAYS == 30
    tokens = json.loads(ensure_credentials(tmp_path).read_text())
    assert expiry_days(tokens["desk"]) == 30 and expiry_days(tokens["agencies"]["polisen"]) == 30
    assert expiry_days(TokenIssuer(ensure_keys(auth_dir(tmp_path))[0]).issue("x", "bi")) == 30


def rewrite(path, **claims_by_role) -> None:
    tokens = json.loads(path.read_text())
    tokens.update(claims_by_role)
    path.write_text(json.dumps(tokens))


def test_credentials_are_kept_while_current(tmp_path):
    path = ensure_credentials(tmp_path)
    before = path.read_text()
    assert ensure_credentials(tmp_path).read_text() == before


def test_credentials_near_their_end_are_issued_again(tmp_path):
    path = ensure_credentials(tmp_path)
    private = ensure_keys(auth_dir(tmp_path))[0]
    days_left = (RENEW_BEFORE_SECONDS - 3600) / 86400
    rewrite(path, bi=TokenIssuer(private).issue("embedded-bi", "bi", days=days_left))
    tokens = json.loads(ensure_credentials(tmp_path).read_text())
    assert expiry_days(tokens["bi"]) == 30
    verifier = TokenVerifier((auth_dir(tmp_path) / "public.pem").read_bytes())
    assert verifier.verify(tokens["bi"]).role == "bi"


@pytest.mark.parametrize("damage", ["other key", "expired", "not json", "a role missing"])
def test_credentials_that_no_longer_work_are_issued_again(tmp_path, damage):
    path = ensure_credentials(tmp_path)
    if damage == "other key":
        other = ensure_keys(tmp_path / "elsewhere")[0]
        rewrite(path, desk=TokenIssuer(other).issue("embedded-desk", "desk"))
    elif damage == "expired":
        rewrite(path, desk=TokenIssuer(ensure_keys(auth_dir(tmp_path))[0]).issue("d", "desk", days=-1))
    elif damage == "not json":
        path.write_text("{")
    else:
        tokens = json.loads(path.read_text())
        del tokens["monitor"]
        path.write_text(json.dumps(tokens))
    tokens = json.loads(ensure_credentials(tmp_path).read_text())
    verifier = TokenVerifier((auth_dir(tmp_path) / "public.pem").read_bytes())
    assert verifier.verify(tokens["desk"]).role == "desk"
    assert verifier.verify(tokens["monitor"]).role == "monitor"
