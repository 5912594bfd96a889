"""``sharehouse evaluate``: help, ``list``, and the errors that need no model."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from sharehouse.cli import _build, app
from sharehouse.store import Store


@pytest.fixture(scope="module")
def cli():
    _build()
    return CliRunner()


def test_help_lists_the_options(cli: CliRunner) -> None:
    result = cli.invoke(app, ["evaluate", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for opt in ("--methods", "--models", "--source", "--languages", "--users", "--limit-users", "--seed",
                "--temperature", "--max-tokens", "--concurrency", "--run", "--db", "--api-base", "list", "show"):  # fmt: skip
        assert opt in result.output, opt


def test_list_shows_every_prompting_method(cli: CliRunner) -> None:
    result = cli.invoke(app, ["evaluate", "list"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for name in ("zero-shot", "few-shot", "few-shot-mbti", "cot", "gpg", "retrieval"):
        assert name in result.output
    assert "Guided profile generation" in result.output


def test_empty_store_and_bad_arguments(cli: CliRunner, tmp_path: Path) -> None:
    db = tmp_path / "empty.duckdb"
    Store(db).close()
    result = cli.invoke(app, ["evaluate", "--db", str(db), "--no-progress"])
    assert result.exit_code == 1
    assert "sharehouse import yntp" in result.output
    result = cli.invoke(app, ["evaluate", "--db", str(db), "--languages", "fr"])
    assert result.exit_code == 2 and "unknown language" in result.output
    result = cli.invoke(app, ["evaluate", "show", "nope", "--db", str(db)])
    assert result.exit_code == 1 and "no evaluation run" in result.output


def test_unknown_method_is_rejected_before_any_model_call(
    cli: CliRunner, tmp_path: Path, yntp_dir: Path
) -> None:
    import shutil

    from sharehouse.io import import_yntp

    (tmp_path / "d" / "en").mkdir(parents=True)
    shutil.copy(yntp_dir / "en" / "en_1.json", tmp_path / "d" / "en" / "en_1.json")
    db = tmp_path / "one.duckdb"
    with Store(db) as store:
        import_yntp(store, tmp_path / "d")
    result = cli.invoke(app, ["evaluate", "--db", str(db), "--methods", "telepathy", "--no-progress"])
    assert result.exit_code == 2
    assert "unknown method" in result.output
