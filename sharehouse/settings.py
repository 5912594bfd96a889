"""The ``SHAREHOUSE_*`` environment variables, read in one place.

========================  ===========================================================================
``SHAREHOUSE_DB``         the DuckDB file (else ``sessions/sharehouse.duckdb`` under the working dir)
``SHAREHOUSE_THREADS``    llama.cpp threads (unset or 0: the cores that are free now)
``SHAREHOUSE_CACHE``      the cache of assembled model files (else the user cache directory,
                          ``~/.cache/sharehouse`` on Linux)
``SHAREHOUSE_ANON_SALT``  the secret for pseudonyms in anonymised exports (else ``--salt`` or random)
``SHAREHOUSE_SCENARIO``   the scenario file (else the shipped one)
``SHAREHOUSE_LOG_LEVEL``  the log level when ``--log-level``/``-v`` are not given (else WARNING)
========================  ===========================================================================

Nothing is read at import: :func:`get_settings` reads the environment each time it is called, so a
changed variable (in a test, or a long-lived process) is seen by the next call. Empty variables
count as unset.
"""

from __future__ import annotations

from pathlib import Path

import platformdirs
from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

ENV_PREFIX = "SHAREHOUSE_"
APP_NAME = "sharehouse"


def env_name(field: str) -> str:
    """The environment variable of a settings field (``db`` → ``SHAREHOUSE_DB``)."""
    if field not in Settings.model_fields:
        raise KeyError(f"no setting {field!r}")
    return ENV_PREFIX + field.upper()


class Settings(BaseSettings):
    """Every ``SHAREHOUSE_*`` variable; see the module docstring."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, env_ignore_empty=True, extra="ignore")

    db: Path | None = None
    threads: int = Field(default=0, ge=0)
    cache: Path | None = None
    anon_salt: SecretStr | None = None
    scenario: Path | None = None
    log_level: str | None = None


def get_settings() -> Settings:
    """The settings as the environment gives them now."""
    return Settings()


def cache_dir() -> Path:
    """``$SHAREHOUSE_CACHE`` (``~`` expanded), else the user cache directory for sharehouse."""
    configured = get_settings().cache
    if configured is not None:
        return configured.expanduser()
    return Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False))
