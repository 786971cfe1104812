"""Structured JSON logging (structlog). Every string value passes the personal-data
scrubber, so an identity number that slips into a log call is masked, not written."""

from __future__ import annotations

import logging
import sys
from typing import Any

import structlog

from shared.personal_data import scrub_text


def _scrub(_logger: Any, _method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    return {k: scrub_text(v) if isinstance(v, str) else v for k, v in event_dict.items()}


def configure_logging(level: str = "INFO", fmt: str = "json") -> None:
    renderer = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    logging.basicConfig(stream=sys.stderr, level=level.upper(), format="%(message)s")
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            _scrub,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )
