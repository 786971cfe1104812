from datetime import date

import pytest

from shared.errors import InvalidInput
from shared.personal_data import luhn_ok, mask_pin, normalise_pin, scrub_text

TODAY = date(2026, 11, 24)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("811218-9876", "198112189876"),
        ("19811218-9876", "198112189876"),
        ("198112189876", "198112189876"),
        ("121212+1212", "191212121212"),  # over 100 years old
        ("121212-1212", "201212121212"),
        ("701063-2391", "197010632391"),  # samordningsnummer: day + 60
    ],
)
def test_valid_identity_numbers_are_normalised_to_twelve_digits(raw, expected):
    assert normalise_pin(raw, TODAY) == expected


@pytest.mark.parametrize("raw", ["811218-9875", "19811318-9876", "abc", "8112189", "20991218-9870", ""])
def test_invalid_identity_numbers_are_refused(raw):
    with pytest.raises(InvalidInput):
        normalise_pin(raw, TODAY)


def test_luhn_check_digit():
    assert luhn_ok("8112189876")
    assert not luhn_ok("8112189875")


def test_scrub_masks_identity_numbers_phone_numbers_and_email_in_free_text():
    text = "Jag heter Anna, 19811218-9876, ring 070-123 45 67 eller anna.svensson@example.se"
    scrubbed = scrub_text(text)
    assert "9876" not in scrubbed and "123 45 67" not in scrubbed and "@" not in scrubbed
    assert "[personnummer]" in scrubbed and "[telefon]" in scrubbed and "[e-post]" in scrubbed
    assert scrubbed.startswith("Jag heter Anna")


def test_mask_keeps_birth_date_only():
    assert mask_pin("198112189876") == "19811218-****"
