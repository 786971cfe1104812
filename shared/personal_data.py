"""Swedish personal identity numbers (personnummer, samordningsnummer) and masking of
personal data in free text. Framework-free: used by domain code and by the log scrubber."""

from __future__ import annotations

import re
from datetime import date

from shared.errors import InvalidInput

_PIN = re.compile(r"^(?P<century>\d{2})?(?P<yymmdd>\d{6})(?P<sep>[-+]?)(?P<tail>\d{4})$")
# Anything shaped like an identity number, phone number or e-mail address in free text.
_PIN_IN_TEXT = re.compile(r"(?<![\w-])(?:\d{2})?\d{6}[-+ ]?\d{4}(?![\w-])")
_EMAIL_IN_TEXT = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE_IN_TEXT = re.compile(r"(?<![\w.:\[-])(?:\+46|0)[\s-]?\d{1,3}(?:[\s-]?\d{2,3}){2,4}(?![\w-])")


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, char in enumerate(digits):
        value = int(char) * (2 if i % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def normalise_pin(raw: str, today: date | None = None) -> str:
    """Validate and return the 12-digit form ``YYYYMMDDNNNC``; raise ``InvalidInput``.

    Accepts ``YYYYMMDD-NNNC``, ``YYYYMMDDNNNC``, ``YYMMDD-NNNC`` and ``YYMMDD+NNNC`` (``+``:
    100 years or older). Samordningsnummer have 60 added to the day.
    """
    match = _PIN.match(raw.strip())
    if not match:
        raise InvalidInput("personal identity number has the wrong format")
    yymmdd, tail = match["yymmdd"], match["tail"]
    if not luhn_ok(yymmdd + tail):
        raise InvalidInput("personal identity number fails its check digit")
    today = today or date.today()
    century = match["century"] or _infer_century(yymmdd, match["sep"] == "+", today)
    year, month, day = int(century + yymmdd[:2]), int(yymmdd[2:4]), int(yymmdd[4:6])
    if day > 60:
        day -= 60
    try:
        born = date(year, month, day)
    except ValueError as error:
        raise InvalidInput("personal identity number holds no valid date") from error
    if born > today:
        raise InvalidInput("personal identity number lies in the future")
    return f"{century}{yymmdd}{tail}"


def _infer_century(yymmdd: str, hundred_plus: bool, today: date) -> str:
    year = today.year - (today.year - int(yymmdd[:2])) % 100
    if hundred_plus:
        year -= 100
    return str(year)[:2]


def mask_pin(pin12: str) -> str:
    """Birth date kept, the last four digits hidden: ``19811218-****``."""
    return f"{pin12[:8]}-****"


def scrub_text(text: str) -> str:
    """Mask identity numbers, e-mail addresses and phone numbers in free text."""
    text = _PIN_IN_TEXT.sub("[personnummer]", text)
    text = _EMAIL_IN_TEXT.sub("[e-post]", text)
    return _PHONE_IN_TEXT.sub("[telefon]", text)
