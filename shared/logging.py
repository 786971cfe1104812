"""Structured JSON logging (structlog), for our own log calls and for the standard
library's loggers (uvicorn, httpx) alike. Every value passes the personal-data scrubber
(``scrub_text``, linear in time and bounded in length): strings, strings inside dicts and
lists, and any other object as the text it would be written as, so an identity number,
phone number or e-mail address that slips into a log call is masked, not written."""

from __future__ import annotations

import logging
import sys
from typing import Any

import structlog

from shared.personal_data import scrub_text

# Left as they are: the exception (formatted, then scrubbed, by the formatter's chain),
# the time stamp the chain adds itself, and structlog's own bookkeeping (``_record``,
# ``_from_structlog``).
_UNTOUCHED = frozenset({"exc_info", "stack_info", "timestamp", "level", "logger"})
_MAX_DEPTH = 4


def _scrubbed(value: Any, depth: int = 0) -> Any:
    if isinstance(value, str):
        return scrub_text(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    if depth < _MAX_DEPTH and isinstance(value, dict):
        return {key: _scrubbed(item, depth + 1) for key, item in value.items()}
    if depth < _MAX_DEPTH and isinstance(value, list | tuple | set | frozenset):
        return [_scrubbed(item, depth + 1) for item in value]
    return scrub_text(str(value))


def _scrub(_logger: Any, _method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    return {
        k: v if k in _UNTOUCHED or k.startswith("_") else _scrubbed(v) for k, v in event_dict.items()
    }


def configure_logging(level: str = "INFO", fmt: str = "json") -> None:
    renderer = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    shared_chain = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        _scrub,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared_chain,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                _scrub,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.getLogger("httpx").setLevel(max(logging.WARNING, root.level))
    structlog.configure(
        # Drop calls below the level first, before any processor spends time on them.
        processors=[
            structlog.stdlib.filter_by_level,
            *shared_chain,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
