"""Logging for the ``sharehouse`` command: rich-formatted records on standard error.

Library modules log through ``logging.getLogger(__name__)`` and never configure anything; the
command line calls :func:`configure_logging` once. Only the ``sharehouse`` and ``evaluator``
loggers get the handler (third-party libraries keep their own defaults; records still propagate,
so pytest's ``caplog`` sees them), at WARNING unless ``--log-level`` (or ``$SHAREHOUSE_LOG_LEVEL``)
or ``-v`` (INFO) / ``-vv`` (DEBUG) ask for more; the more verbose of the two wins. Every
record passes through :func:`sharehouse.llm.remote.redact_secrets`, so an API key quoted in an
error message is never printed.
"""

from __future__ import annotations

import logging
from enum import StrEnum

from rich.console import Console
from rich.logging import RichHandler

from sharehouse.llm.remote import redact_secrets
from sharehouse.settings import get_settings

LOGGERS = ("sharehouse", "evaluator")
DEFAULT_LEVEL = logging.WARNING


class LogLevel(StrEnum):
    """The levels ``--log-level`` accepts."""

    DEBUG = "DEBUG"
    INFO = "INFO"
    WARNING = "WARNING"
    ERROR = "ERROR"


class RedactSecrets(logging.Filter):
    """Replaces API keys in a record's message (arguments merged in) with ``[redacted]``."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact_secrets(message)
        if redacted != message or record.args:
            record.msg, record.args = redacted, None
        return True


def _level_number(name: str) -> int:
    value = logging.getLevelName(name.strip().upper())
    if not isinstance(value, int):
        raise ValueError(f"unknown log level {name!r}: use one of {', '.join(LogLevel)}")
    return value


def resolve_level(level: str | None, verbose: int) -> int:
    """The more verbose of ``level`` and ``-v`` (INFO) / ``-vv`` (DEBUG); with neither,
    ``$SHAREHOUSE_LOG_LEVEL``, else WARNING. An unknown level name raises ``ValueError``."""
    given = [_level_number(level)] if level else []
    if verbose > 0:
        given.append(logging.INFO if verbose == 1 else logging.DEBUG)
    if given:
        return min(given)
    configured = get_settings().log_level
    return _level_number(configured) if configured else DEFAULT_LEVEL


def configure_logging(level: str | None = None, verbose: int = 0, console: Console | None = None) -> int:
    """Send the ``sharehouse`` and ``evaluator`` loggers to standard error (or ``console``) through
    rich, at the resolved level; calling it again replaces the handler. Returns the level."""
    resolved = resolve_level(level, verbose)
    handler = RichHandler(
        console=console or Console(stderr=True, soft_wrap=True),
        show_path=resolved <= logging.DEBUG,
        rich_tracebacks=True,
        markup=False,
    )
    handler.addFilter(RedactSecrets())
    handler.set_name("sharehouse")
    for name in LOGGERS:
        logger = logging.getLogger(name)
        for old in [h for h in logger.handlers if h.get_name() == "sharehouse"]:
            logger.removeHandler(old)
        logger.addHandler(handler)
        logger.setLevel(resolved)
    return resolved
