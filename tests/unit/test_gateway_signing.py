"""Signatures both ways: the message is ``timestamp.body``, HMAC-SHA256, ``v1=<hex>``."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from shared.signing import check, dev_secret, sign, signed_headers

BODY = b'{"case_id":"q-1"}'
NOW = 1_750_000_000


def test_the_signature_is_the_documented_hmac_of_timestamp_dot_body():
    expected = hmac.new(b"s3cret", b"1750000000." + BODY, hashlib.sha256).hexdigest()
    assert sign("s3cret", NOW, BODY) == f"v1={expected}"


def test_a_fresh_genuine_request_passes():
    headers = signed_headers("s3cret", NOW, BODY)
    stamp, signature = headers["X-Servicekontor-Timestamp"], headers["X-Servicekontor-Signature"]
    assert check("s3cret", stamp, signature, BODY, now=NOW + 10) is None


@pytest.mark.parametrize(
    ("secret", "body", "now", "problem"),
    [
        ("other", BODY, NOW, "bad_signature"),
        ("s3cret", BODY + b" ", NOW, "bad_signature"),
        ("s3cret", BODY, NOW + 301, "stale_timestamp"),
        ("s3cret", BODY, NOW - 301, "stale_timestamp"),
    ],
    ids=["wrong-secret", "body-changed", "too-old", "from-the-future"],
)
def test_a_wrong_secret_a_changed_body_or_a_stale_timestamp_is_refused(secret, body, now, problem):
    signature = sign("s3cret", NOW, BODY)
    assert check(secret, str(NOW), signature, body, now=now) == problem


def test_a_replayed_old_request_cannot_be_refreshed_without_the_secret():
    old = sign("s3cret", NOW, BODY)
    assert check("s3cret", str(NOW + 1000), old, BODY, now=NOW + 1000) == "bad_signature"


@pytest.mark.parametrize(("stamp", "signature"), [(None, "v1=x"), ("1", None), ("soon", "v1=x")])
def test_missing_or_malformed_headers_are_refused(stamp, signature):
    assert check("s3cret", stamp, signature, BODY, now=NOW) in {"missing_signature", "bad_timestamp"}


def test_one_of_several_signatures_is_enough_for_a_sender_rotating_secrets():
    both = f"{sign('old', NOW, BODY)}, {sign('new', NOW, BODY)}"
    assert check("new", str(NOW), both, BODY, now=NOW) is None


def test_development_secrets_are_deterministic_and_differ_per_agency():
    assert dev_secret("polisen") == dev_secret("polisen")
    assert dev_secret("polisen") != dev_secret("skatteverket")
    seed = b"servicekontor-development-only"
    assert dev_secret("polisen") == hmac.new(seed, b"agency:polisen", hashlib.sha256).hexdigest()


@pytest.mark.parametrize(
    ("stamp", "signature", "problem"),
    [
        ("²", "v1=x", "bad_timestamp"),  # isdigit() says yes, int() says no
        ("١٧٥٠٠٠٠٠٠٠", "v1=x", "bad_timestamp"),  # Arabic-Indic digits
        ("1750000000\n", "v1=x", "bad_timestamp"),
        (" 1750000000", "v1=x", "bad_timestamp"),
        ("1" * 13, "v1=x", "bad_timestamp"),
        (str(NOW), "v1=é", "bad_signature"),  # compare_digest refuses non-ASCII text
        (str(NOW), "v1=\x00", "bad_signature"),
        (str(NOW), "v1=" + "a" * 2000, "bad_signature"),
    ],
    ids=["superscript-two", "arabic-indic", "newline", "space", "too-long", "non-ascii-signature",
         "control-character", "huge-signature"],
)
def test_any_header_value_is_answered_with_a_reason_never_an_exception(stamp, signature, problem):
    assert check("s3cret", stamp, signature, BODY, now=NOW) == problem
