"""Swedish personal identity numbers (personnummer, samordningsnummer) and masking of
personal data in free text. Framework-free: used by domain code, by the request schemas
(``shared.input_checks.FreeText``) and by the log scrubber.

Masking runs in time linear in its input, whatever the input: the text is cut to
``MAX_SCRUB_CHARS`` before any pattern sees it, and every pattern has bounded repetition
only (no nested or open-ended quantifier that could backtrack over the whole text), so one
request with a long, number-like path or body cannot hold a process's event loop. Before
the patterns, the text is normalised: ``NFKC`` (fullwidth digits, ``＠``, ``＋``, no-break
and other spaces), every Unicode decimal digit to its ASCII digit, the dashes
``‐ ‑ ‒ – — ― − ﹣ －`` to ``-``, and invisible characters (soft hyphen, zero-width
spaces and joiners) removed. docs/security.md lists the formats that are masked and where
the masking runs.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from datetime import date

from shared.errors import InvalidInput

# Longer text is cut (and says so) before any pattern runs: free-text fields are far
# shorter (a question 4000 characters), so only a log value can be this long.
MAX_SCRUB_CHARS = 32_768

PIN_MASK, PHONE_MASK, EMAIL_MASK = "[personnummer]", "[telefon]", "[e-post]"

_DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2043\u2212\u2e3a\u2e3b\ufe58\ufe63\uff0d"
_INVISIBLE = "\u00ad\u180e\u200b\u200c\u200d\u2060\u2061\u2062\u2063\u2064\ufeff"
_FOLD_CACHE_LIMIT = 4096


class _Fold(dict):
    """``str.translate`` table, filled on first sight of a character: dashes to ``-``,
    invisible characters removed, any decimal digit (Arabic-Indic, Devanagari, ...) to
    ASCII. Bounded: past the limit a character is looked up again instead of kept."""

    def __missing__(self, code: int) -> int | str | None:
        char = chr(code)
        if char in _DASHES:
            value: int | str | None = "-"
        elif char in _INVISIBLE:
            value = None
        else:
            digit = unicodedata.decimal(char, None)
            value = str(digit) if digit is not None else code
        if len(self) < _FOLD_CACHE_LIMIT:
            self[code] = value
        return value


_FOLD = _Fold()


def normalise_text(text: str) -> str:
    """``NFKC``, decimal digits to ASCII, dashes to ``-``, invisible characters removed."""
    if text.isascii():
        return text
    return unicodedata.normalize("NFKC", text).translate(_FOLD)


# --- identity numbers ----------------------------------------------------------------

_PIN = re.compile(r"(?P<century>[0-9]{2})?(?P<yymmdd>[0-9]{6})(?P<sep>[-+]?)(?P<tail>[0-9]{4})")


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, char in enumerate(digits):
        value = int(char) * (2 if i % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def normalise_pin(raw: str, today: date | None = None) -> str:
    """Validate and return the 12-digit ASCII form ``YYYYMMDDNNNC``; raise ``InvalidInput``.

    Accepts ``YYYYMMDD-NNNC``, ``YYYYMMDDNNNC``, ``YYMMDD-NNNC`` and ``YYMMDD+NNNC`` (``+``:
    100 years or older). Samordningsnummer have 60 added to the day. The input is first
    normalised as the masking normalises free text (``normalise_text``): fullwidth or other
    Unicode digits and an en dash or other dash are accepted and stored as ASCII, so the
    same person has the same number (and pseudonym) however the kiosk's keyboard spelt it.
    """
    match = _PIN.fullmatch(normalise_text(raw[:40]).strip())
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


def _has_date(digits: str) -> bool:
    """The 10 digits' ``YYMMDD`` is a month and a day (day + 60: samordningsnummer)."""
    month, day = int(digits[2:4]), int(digits[4:6])
    return 1 <= month <= 12 and (1 <= day <= 31 or 61 <= day <= 91)


def _could_be_pin(digits: str, check_digit: bool = True) -> bool:
    """10 or 12 digits with a real date and (``check_digit``) a valid check digit."""
    if len(digits) == 12:
        if digits[:2] not in ("18", "19", "20"):
            return False
        digits = digits[2:]
    return len(digits) == 10 and _has_date(digits) and (not check_digit or luhn_ok(digits))


# --- the patterns: bounded repetition only -------------------------------------------
#
# Each quantifier has an upper bound and each repeated group ends with a digit no
# separator class contains, so a match attempt costs a bounded number of steps at any
# position: the whole scan is linear in the (already bounded) text. The one open loop
# (``_DIGITS_AFTER``) consumes each character once and nothing after it can fail.

# Identifiers the system writes into its own logs (UUIDs, hex request ids and digests)
# are left alone: a run of ten digits inside one is no identity number.
_OWN_IDS = re.compile(
    r"(?<![0-9A-Za-z])(?:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
    r"|[0-9a-fA-F]{64}|[0-9a-fA-F]{40}|[0-9a-fA-F]{32})(?![0-9A-Za-z])"
)
_EMAIL_IN_TEXT = re.compile(
    r"[\w.+\-]{1,64}@(?:\[[0-9A-Fa-f:.]{1,45}\]|[\w\-]{1,63}(?:\.[\w\-]{1,63}){0,8})"
)
# yymmdd or yyyymmdd (a space or dot allowed between year, month and day), then - or +
# (a space on either side or none), a space or nothing, then the four last digits:
# 19121212-1212, nr19121212-1212, 19121212 - 1212, 1912 12 12-1212, 121212+1212,
# 191212121212, 811218 9876.
_PIN_SEPARATOR = r"(?:[ \t]?[-+][ \t]?|[ \t])?"
_PIN_IN_TEXT = re.compile(
    r"(?<![0-9])(?:[0-9]{2})?[0-9]{2}[ .]?[0-9]{2}[ .]?[0-9]{2}" + _PIN_SEPARATOR + r"[0-9]{4}(?![0-9])"
)
# The spellings that are identity numbers (if their date is one) whether or not the
# check digit is right: a mistyped last digit is still someone's number.
_PIN_PLAIN = re.compile(r"(?:[0-9]{2})?[0-9]{6}" + _PIN_SEPARATOR + r"[0-9]{4}")
# Between a phone number's digit groups: one space, or a dot, dash or slash with a space
# on either side or none. Two spaces part two numbers.
_GROUP = r"(?:[ \t]?[.\-/][ \t]?|[ \t])?"
# International: +46 70 123 45 67, +46 (0)70-123 45 67, 0046701234567, tel:+4670...
# (Sweden: 7-9 digits after the country code), +1 555 123 4567 (others: 6-12).
_PHONE_INTERNATIONAL = re.compile(
    r"(?<![0-9])(?:\+[ \t]?|00)(?:46(?:[ \t]?-?[ \t]?\(0\))?(?:" + _GROUP + r"[0-9]){7,9}"
    r"|[1-9][0-9]{0,2}(?:[ \t]?\(0\))?(?:" + _GROUP + r"[0-9]){6,12})(?![0-9])"
)
# National: a leading 0 and an area code's first digit (1-9), or an area code in
# brackets, then the rest in groups, 7-10 digits in all: 070-123 45 67, 0701234567,
# 08-123 456 78, (08) 123 45 67, 070.123.45.67, 070 - 1234567, 08/123 45 67. Not right
# after a digit and a dot, dash, slash or colon (2026-01-02, Dnr 2024/0123, 12:05.123456).
_PHONE_NATIONAL = re.compile(
    r"(?<![0-9])(?<![0-9][.\-/:])(?:\(0[1-9][0-9]{0,2}\)|0" + _GROUP + r"[1-9])"
    r"(?:" + _GROUP + r"[0-9]){5,8}(?![0-9])"
)
# Digit groups right after a phone number (a space, dot or dash away) are taken with it:
# where two numbers stand side by side, the first match may end inside the second, and
# what is left of that one must not stand in clear. (Each round takes a separator and
# all the digits after it, and nothing can fail after the loop: no backtracking.)
_DIGITS_AFTER = re.compile(r"(?:(?:[ \t]?[\-/][ \t]?|[ \t.])[0-9]+)*")
# What a national-phone match may start with instead: a time range (08.30-09.15) or a
# date (01.02.2026, 02-12-2026); checked on the match only, which is short.
_TIME_RANGE = re.compile(r"([0-9]{2})[.:]([0-9]{2}) ?- ?([0-9]{2})[.:]([0-9]{2})(?![0-9])")
_DATE = re.compile(r"([0-9]{2})[./-]([0-9]{2})[./-]((?:19|20)[0-9]{2})(?![0-9])")
_HAS_CANDIDATE = re.compile(r"[0-9@]")


Decision = tuple[str, int] | None  # (the mask, where it ends), or None: no match after all


def _pin(match: re.Match[str]) -> Decision:
    raw = match.group()
    digits = "".join(c for c in raw if c.isdigit())
    plain = _PIN_PLAIN.fullmatch(raw) is not None and not raw.startswith("0")
    if _could_be_pin(digits, check_digit=not plain):
        return PIN_MASK, match.end()
    return None  # e.g. 0701234567: a phone number, masked as one below


def _phone(match: re.Match[str]) -> Decision:
    return PHONE_MASK, _DIGITS_AFTER.match(match.string, match.end()).end()  # type: ignore[union-attr]


def _national_phone(match: re.Match[str]) -> Decision:
    raw = match.group()
    if time := _TIME_RANGE.match(raw):
        h1, m1, h2, m2 = (int(g) for g in time.groups())
        if h1 < 24 and h2 < 24 and m1 < 60 and m2 < 60:
            return None
    if (day := _DATE.match(raw)) and 1 <= int(day[1]) <= 31 and 1 <= int(day[2]) <= 12:
        return None
    return _phone(match)


def _replace(pattern: re.Pattern[str], text: str, decide: Callable[[re.Match[str]], Decision]) -> str:
    """``pattern.sub`` where ``decide`` may turn a match down (None): the search then goes
    on from the match's second character, not its end, so a number inside a longer
    candidate that is none (``rum 12 121212-1212``) is still found; or extend it. Each
    search step costs a bounded number of steps per character: still linear."""
    parts: list[str] = []
    kept = position = 0
    while (match := pattern.search(text, position)) is not None:
        decided = decide(match)
        if decided is None:
            position = match.start() + 1
            continue
        replacement, end = decided
        parts += [text[kept:match.start()], replacement]
        kept = position = end
    if not parts:
        return text
    parts.append(text[kept:])
    return "".join(parts)


def _bounded(text: str) -> str:
    """At most ``MAX_SCRUB_CHARS``; a number the cut splits loses its first half too."""
    if len(text) <= MAX_SCRUB_CHARS:
        return text
    end = MAX_SCRUB_CHARS - 64  # room for the note, so the result is within the bound
    floor = end - 64
    while end > floor and (text[end - 1].isdigit() or text[end - 1] in " \t.-+()/@"):
        end -= 1
    return f"{text[:end]} [... {len(text) - end} characters cut]"


def _mask(text: str) -> str:
    text = _EMAIL_IN_TEXT.sub(EMAIL_MASK, text)
    text = _replace(_PIN_IN_TEXT, text, _pin)
    text = _replace(_PHONE_INTERNATIONAL, text, _phone)
    return _replace(_PHONE_NATIONAL, text, _national_phone)


def _scrub(text: str) -> tuple[str, bool]:
    """The masked text and whether anything was masked."""
    text = normalise_text(_bounded(text))
    if not _HAS_CANDIDATE.search(text):
        return text, False
    parts: list[str] = []
    start = 0
    for own in _OWN_IDS.finditer(text):
        if not any(c.isalpha() for c in own.group()):
            continue  # 32 digits are no id of ours: masked like any other text
        parts += [_mask(text[start:own.start()]), own.group()]
        start = own.end()
    parts.append(_mask(text[start:]))
    masked = "".join(parts)
    return masked, masked != text


def scrub_text(text: str) -> str:
    """Mask identity numbers, e-mail addresses and phone numbers in free text: the one
    masking function, for request fields (``shared.input_checks.FreeText``), logs and
    anything else that may carry personal data. Linear time; at most ``MAX_SCRUB_CHARS``
    of the input are kept; the result is normalised (``normalise_text``). Idempotent."""
    return _scrub(text)[0]


def holds_personal_data(text: str) -> bool:
    """Whether ``scrub_text`` would mask anything in ``text`` (for names that are
    identifiers, such as a desk's: those are refused instead of masked)."""
    return _scrub(text)[1]
