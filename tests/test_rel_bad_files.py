"""A persona file with bytes that are not UTF-8: a clear error that names the file and line, from the loader,
from ``personas validate`` and from ``simulate --persona-file``. No traceback, and nothing is
written to the store."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from sharehouse.personas.io import PersonaFileError, default_personas_path, load_personas
from sharehouse.store import Store


@pytest.fixture
def latin1_personas(tmp_path: Path) -> Path:
    good = default_personas_path().read_bytes().splitlines(keepends=True)[0]
    path = tmp_path / "personas.jsonl"
    # The second persona was saved in Latin-1 by some editor: "é" is the single byte 0xe9.
    path.write_bytes(good + good.replace(b'"id": "', b'"id": "caf\xe9-', 1))
    return path


def test_loader_names_the_file_and_the_encoding(latin1_personas: Path) -> None:
    with pytest.raises(PersonaFileError) as caught:
        load_personas(latin1_personas)
    message = str(caught.value)
    assert message.startswith(f"{latin1_personas}, line 2: not valid UTF-8")
    assert "0xe9" in message and "column" in message


def test_commands_report_it_without_a_traceback(latin1_personas: Path, tmp_path: Path) -> None:
    from sharehouse.cli import _build

    cli = CliRunner()
    checked = cli.invoke(_build(), ["personas", "validate", str(latin1_personas)])
    assert checked.exit_code == 1
    assert isinstance(checked.exception, SystemExit)
    assert str(latin1_personas) in " ".join(checked.output.split())

    db = tmp_path / "s.duckdb"
    Store(db).close()
    sim = cli.invoke(
        _build(),
        ["simulate", "--db", str(db), "--persona-file", str(latin1_personas), "--personas", "1",
         "--model", "openai/fake", "--api-base", "http://127.0.0.1:9/v1", "--no-progress"],
    )  # fmt: skip
    assert sim.exit_code != 0 and isinstance(sim.exception, SystemExit), sim.output
    out = " ".join(sim.output.split())
    assert str(latin1_personas) in out and "line 2: not valid UTF-8" in out
    with Store(db, read_only=True) as store:
        assert store.fetchone("SELECT count(*) FROM sessions")[0] == 0


def test_a_byte_order_mark_is_not_an_error(tmp_path: Path) -> None:
    path = tmp_path / "bom.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + default_personas_path().read_bytes())
    assert len(load_personas(path)) == len(load_personas(default_personas_path()))
