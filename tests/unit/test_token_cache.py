"""A verified token is remembered until its ``exp`` (issue #13: the signature check is
paid once per token, not per request); an expired one is refused again, the cache stays
within its bound, and refusals are not remembered."""

from __future__ import annotations

import time

import pytest

from shared.auth import TokenVerifier, Unauthenticated, ensure_keys
from tests.unit.test_token_claims import signed


def test_a_verified_token_is_served_from_the_cache_until_it_expires(tmp_path, monkeypatch):
    private, public = ensure_keys(tmp_path)
    verifier = TokenVerifier(public)
    token = signed(private, exp=int(time.time()) + 60)
    first = verifier.verify(token)
    checks = []

    def refuse(t):
        checks.append(t)
        raise Unauthenticated("invalid token: ExpiredSignatureError")

    monkeypatch.setattr(verifier, "_check", refuse)
    assert verifier.verify(token) == first
    assert checks == []  # no second signature check while it is valid
    later = time.time() + 61
    monkeypatch.setattr("shared.auth.time.time", lambda: later)
    with pytest.raises(Unauthenticated):
        verifier.verify(token)  # past its exp: checked again, not served
    assert checks == [token]
    assert token not in verifier._verified


def test_the_cache_is_bounded_and_refusals_are_not_kept(tmp_path):
    private, public = ensure_keys(tmp_path)
    verifier = TokenVerifier(public, cache_size=2)
    tokens = [signed(private, sub=f"desk-{i}") for i in range(3)]
    for token in tokens:
        verifier.verify(token)
    assert list(verifier._verified) == tokens[1:]
    with pytest.raises(Unauthenticated):
        verifier.verify(tokens[0][:-4] + "AAAA")
    assert len(verifier._verified) == 2
