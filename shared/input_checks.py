"""Checks of a request's input that every route needs, whatever its parameters, and the
types that keep personal data out of free-text fields where they enter the system."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import AfterValidator, StringConstraints

from shared.personal_data import holds_personal_data, scrub_text


def _no_personal_data(value: str) -> str:
    if holds_personal_data(value):
        raise ValueError("must not hold personal data (an identity number, phone number or e-mail address)")
    return value


# The marks, last in an ``Annotated`` (after its ``StringConstraints``, which then check
# the text as sent and stay in the OpenAPI description).
MASKED = AfterValidator(scrub_text)
REFUSE_PERSONAL_DATA = AfterValidator(_no_personal_data)

# A free-text request field (a note, a reason, a question): identity numbers, phone
# numbers and e-mail addresses in it are masked (``scrub_text``) as the request is read,
# so the command, the events, the stores and every answer hold the masked text only.
FreeText = Annotated[str, MASKED]


def free_text(max_length: int, min_length: int = 0) -> Any:
    """``FreeText`` of ``min_length``..``max_length`` characters, whitespace stripped."""
    return Annotated[
        str, StringConstraints(min_length=min_length, max_length=max_length, strip_whitespace=True), MASKED
    ]


# A name that is an identifier (a desk's): compared, and shown on the public queue
# display, so masking would merge two names into one ``[telefon]``. What ``scrub_text``
# would mask is refused (422) instead.
NoPersonalData = Annotated[str, REFUSE_PERSONAL_DATA]


def _nul_in(value: Any, location: tuple[Any, ...]) -> tuple[Any, ...] | None:
    """Where in a JSON value (keys included) a string holds a NUL character, if anywhere."""
    if isinstance(value, str):
        return location if "\x00" in value else None
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        found = _nul_in(key, (*location, key)) or _nul_in(item, (*location, key))
        if found:
            return found
    return None


async def refuse_nul_characters(request: Request) -> None:
    """PostgreSQL's text cannot hold NUL (0x00): refuse it anywhere in the input with a
    422, instead of a database error (500) here or a failing consumer downstream."""
    places: list[tuple[Any, ...]] = [
        ("path", name) for name, value in request.path_params.items() if "\x00" in str(value)
    ]
    places += [
        ("query", name) for name, value in request.query_params.multi_items() if "\x00" in name + value
    ]
    if request.method in ("POST", "PUT", "PATCH") and b"\\u0000" in await request.body():
        try:
            found = _nul_in(json.loads(await request.body()), ("body",))
        except (ValueError, RecursionError):  # not JSON: the route's own parsing refuses it
            found = None
        if found:
            places.append(found)
    if places:
        raise RequestValidationError(
            [{"loc": place, "msg": "NUL characters (0x00) are not allowed", "type": "string_nul"} for place in places]
        )
