"""Logging: level from --log-level / -v / $SHAREHOUSE_LOG_LEVEL, rich records on stderr, keys redacted."""

from __future__ import annotations

import io
import logging
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from sharehouse.cli import _build
from sharehouse.llm.local import LocalModel
from sharehouse.llm.models import ensure_model
from sharehouse.logs import configure_logging, resolve_level
from sharehouse.store import Store

PLANTED = "sk-test-LOGGED-0123456789abcdef"


@pytest.fixture(autouse=True)
def restore_loggers(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("SHAREHOUSE_LOG_LEVEL", raising=False)
    saved = {
        n: (logging.getLogger(n).level, list(logging.getLogger(n).handlers))
        for n in ("sharehouse", "evaluator")
    }
    yield
    for name, (level, handlers) in saved.items():
        logger = logging.getLogger(name)
        logger.setLevel(level)
        logger.handlers[:] = handlers


def test_level_resolution(monkeypatch: pytest.MonkeyPatch) -> None:
    assert resolve_level(None, 0) == logging.WARNING
    assert resolve_level(None, 1) == logging.INFO and resolve_level(None, 3) == logging.DEBUG
    assert resolve_level("error", 0) == logging.ERROR
    assert resolve_level("error", 2) == logging.DEBUG  # the more verbose wins
    monkeypatch.setenv("SHAREHOUSE_LOG_LEVEL", "info")
    assert resolve_level(None, 0) == logging.INFO
    with pytest.raises(ValueError, match="unknown log level"):
        resolve_level("loud", 0)


def test_records_go_to_the_console_filtered_and_redacted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", PLANTED)
    out = io.StringIO()
    configure_logging("INFO", console=Console(file=out, width=200))
    configure_logging("INFO", console=Console(file=out, width=200))  # again: one handler, not two
    log = logging.getLogger("sharehouse.test")
    log.debug("hidden at INFO")
    log.warning("server said: bad key %s", PLANTED)
    logging.getLogger("evaluator.test").info("evaluator records too")
    text = out.getvalue()
    assert "hidden" not in text and "LOGGED" not in text
    assert text.count("server said: bad key [redacted]") == 1 and "evaluator records too" in text


def test_cli_options_set_the_level(tmp_path: Path) -> None:
    app, runner = _build(), CliRunner()
    db = str(tmp_path / "x.duckdb")
    with Store(db):
        pass
    result = runner.invoke(app, ["-vv", "sessions", "list", "--db", db])
    assert result.exit_code == 0, result.output
    assert logging.getLogger("sharehouse").level == logging.DEBUG
    result = runner.invoke(app, ["--log-level", "error", "sessions", "list", "--db", db])
    assert result.exit_code == 0 and logging.getLogger("sharehouse").level == logging.ERROR
    assert runner.invoke(app, ["--log-level", "loud", "sessions", "list", "--db", db]).exit_code == 2
    assert "SHAREHOUSE_LOG_LEVEL" in runner.invoke(app, ["--help"], env={"COLUMNS": "200"}).output


@pytest.mark.model
def test_model_load_is_logged_with_path_and_threads(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="sharehouse")
    path = ensure_model("small")
    LocalModel(path, n_threads=1, n_ctx=512).load()
    (record,) = [r for r in caplog.records if r.name == "sharehouse.llm.local"]
    assert str(path) in record.getMessage() and "1 threads" in record.getMessage()
