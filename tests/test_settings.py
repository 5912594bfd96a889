"""The SHAREHOUSE_* settings: read when asked (not at import), empty means unset, one cache path."""

from __future__ import annotations

import sys
from pathlib import Path

import pydantic
import pytest

from sharehouse.io import resolve_salt
from sharehouse.llm.local import default_threads
from sharehouse.llm.models import cache_root
from sharehouse.scenario import default_scenario_path
from sharehouse.settings import Settings, cache_dir, env_name, get_settings
from sharehouse.store import default_db_path

ALL = ["SHAREHOUSE_DB", "SHAREHOUSE_THREADS", "SHAREHOUSE_CACHE", "SHAREHOUSE_ANON_SALT", "SHAREHOUSE_SCENARIO",
       "SHAREHOUSE_LOG_LEVEL"]  # fmt: skip


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ALL:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_every_variable_has_a_field() -> None:
    assert sorted(env_name(f) for f in Settings.model_fields) == sorted(ALL)
    with pytest.raises(KeyError):
        env_name("nope")


def test_variables_are_read_at_each_call(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert get_settings().db is None and default_db_path() == Path.cwd() / "sessions" / "sharehouse.duckdb"
    clean_env.setenv("SHAREHOUSE_DB", str(tmp_path / "x.duckdb"))
    clean_env.setenv("SHAREHOUSE_THREADS", "3")
    clean_env.setenv("SHAREHOUSE_SCENARIO", "~/my.json")
    clean_env.setenv("SHAREHOUSE_ANON_SALT", "pepper")
    assert default_db_path() == tmp_path / "x.duckdb"
    assert default_threads() == 3
    assert default_scenario_path() == Path.home() / "my.json"
    assert resolve_salt(None) == ("pepper", "env") and resolve_salt("given") == ("given", "option")
    assert "pepper" not in repr(get_settings())  # the salt is a secret: never in a repr or a log


def test_empty_means_unset_and_bad_values_are_refused(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("SHAREHOUSE_DB", "")
    clean_env.setenv("SHAREHOUSE_ANON_SALT", "")
    clean_env.setenv("SHAREHOUSE_THREADS", "")
    assert get_settings().db is None and resolve_salt(None)[1] == "random"
    assert default_threads() >= 1
    clean_env.setenv("SHAREHOUSE_THREADS", "many")
    with pytest.raises(pydantic.ValidationError, match="threads"):
        get_settings()


@pytest.mark.skipif(sys.platform != "linux", reason="the user cache directory is ~/.cache only on Linux")
def test_one_cache_path_with_home_expanded(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    clean_env.delenv("XDG_CACHE_HOME", raising=False)
    assert cache_dir() == cache_root() == Path.home() / ".cache" / "sharehouse"  # where caches already are
    clean_env.setenv("SHAREHOUSE_CACHE", "~/elsewhere")
    assert cache_root() == Path.home() / "elsewhere"
    clean_env.setenv("SHAREHOUSE_CACHE", str(tmp_path))
    assert cache_root() == tmp_path
