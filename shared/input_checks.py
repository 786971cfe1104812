"""Checks of a request's input that every route needs, whatever its parameters."""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError


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
