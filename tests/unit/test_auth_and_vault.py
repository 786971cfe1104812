import json
import os
import stat

import pytest

from shared.auth import (
    ROLE_SCOPES,
    Forbidden,
    TokenIssuer,
    TokenVerifier,
    Unauthenticated,
    ensure_credentials,
    ensure_keys,
)
from shared.db import create_engine, sqlite_url
from shared.vault import Vault, load_master_key


def test_first_start_writes_private_credentials_readable_only_by_the_owner(tmp_path):
    path = ensure_credentials(tmp_path)
    for secret in (path, tmp_path / "auth" / "private.pem"):
        assert stat.S_IMODE(os.stat(secret).st_mode) == 0o600
    tokens = json.loads(path.read_text())
    verifier = TokenVerifier((tmp_path / "auth" / "public.pem").read_bytes())
    assert verifier.verify(tokens["desk"]).role == "desk"
    assert verifier.verify(tokens["agencies"]["polisen"]).agency == "polisen"
    assert ensure_credentials(tmp_path) == path and json.loads(path.read_text()) == tokens


def test_tokens_from_another_key_tampered_or_expired_are_refused(tmp_path):
    private, public = ensure_keys(tmp_path / "a")
    other_private, _ = ensure_keys(tmp_path / "b")
    verifier = TokenVerifier(public)
    good = TokenIssuer(private).issue("anna", "desk")
    for bad in (TokenIssuer(other_private).issue("anna", "admin"), good[:-2] + "xx",
                TokenIssuer(private).issue("anna", "desk", days=-1), "not-a-token"):
        with pytest.raises(Unauthenticated):
            verifier.verify(bad)


def test_scopes_follow_the_role():
    from shared.auth import Principal

    Principal("k", "kiosk").require("questions:write")
    with pytest.raises(Forbidden):
        Principal("k", "kiosk").require("decisions:override")
    with pytest.raises(Forbidden):
        Principal("b", "bi").require("visits:read")
    assert "personal_data:erase" in ROLE_SCOPES["admin"] - ROLE_SCOPES["supervisor"]


async def test_erasing_a_visit_makes_its_identity_numbers_unreadable(tmp_path):
    vault = Vault(create_engine(sqlite_url(tmp_path / "keys.db")), load_master_key(None, tmp_path / "master.key"), None)
    await vault.init_db()
    token = await vault.encrypt("visit-1", "198112189876")
    other = await vault.encrypt("visit-2", "198112189876")
    assert "198112189876" not in token
    assert await vault.decrypt(token) == "198112189876"
    assert await vault.erase("visit-1")
    assert await vault.decrypt(token) is None
    assert await vault.decrypt(other) == "198112189876"
    raw = (tmp_path / "keys.db").read_bytes()
    assert b"198112189876" not in raw
    await vault.engine.dispose()
