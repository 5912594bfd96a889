"""The ``import yntp`` and ``export`` commands, on a small typer app that calls ``register``."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
import typer
from typer.testing import CliRunner

from sharehouse.cli_io import register
from sharehouse.store import Store

SHARED = Path(__file__).resolve().parents[2] / "shared"


@pytest.fixture
def app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def main() -> None:
        """A test app."""

    register(app)
    return app


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def _doc(tag: str) -> dict[str, list[dict[str, str]]]:
    return {
        f"day_{d}": [{"speaker": "Donatello", "message": f"m{d} {tag}", "response": f"r{d} {tag}"}]
        for d in range(1, 6)
    }


@pytest.fixture
def data(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    (root / "en").mkdir(parents=True)
    (root / "jp").mkdir()
    (root / "en" / "en_1.json").write_text(json.dumps(_doc("a")), encoding="utf-8")
    (root / "jp" / "jp_1.json").write_text(json.dumps(_doc("b")), encoding="utf-8")
    bad = _doc("c")
    bad["day_2"][0]["response"] = 7  # type: ignore[assignment]
    (root / "en" / "en_2.json").write_text(json.dumps(bad), encoding="utf-8")
    return root


def test_help_texts(app: typer.Typer, runner: CliRunner) -> None:
    for args in (["import", "--help"], ["import", "yntp", "--help"], ["export", "--help"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
    assert "--anonymize" in runner.invoke(app, ["export", "--help"]).output
    assert "YNTP-100" in runner.invoke(app, ["import", "yntp", "--help"]).output


def test_import_reports_bad_files_and_imports_good_ones(
    app: typer.Typer, runner: CliRunner, data: Path, tmp_path: Path
) -> None:
    db = tmp_path / "s.duckdb"
    result = runner.invoke(app, ["import", "yntp", str(data), "--db", str(db), "--source", "mine"])
    assert result.exit_code == 1
    assert "en/en_2.json: $.day_2[0].response: expected a string, got a number" in result.output
    assert "imported" in result.output
    with Store(db) as store:
        assert sorted(s.origin for s in store.list_sessions(source="mine")) == [
            "en/en_1.json",
            "jp/jp_1.json",
        ]
    # fix the file: the import now succeeds and the other two are skipped
    (data / "en" / "en_2.json").write_text(json.dumps(_doc("c")), encoding="utf-8")
    again = runner.invoke(app, ["import", "yntp", str(data), "--db", str(db), "--source", "mine"])
    assert again.exit_code == 0, again.output
    with Store(db) as store:
        assert len(store.list_sessions()) == 3


def test_default_db_comes_from_the_environment(
    app: typer.Typer, runner: CliRunner, data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "env.duckdb"
    monkeypatch.setenv("SHAREHOUSE_DB", str(db))
    (data / "en" / "en_2.json").unlink()
    result = runner.invoke(app, ["import", "yntp", str(data)])
    assert result.exit_code == 0, result.output
    with Store(db) as store:
        assert len(store.list_sessions()) == 2


def test_import_of_missing_directory(app: typer.Typer, runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["import", "yntp", str(tmp_path / "nope"), "--db", str(tmp_path / "s.duckdb")]
    )
    assert result.exit_code == 2
    assert "no such directory" in result.output


def test_export_every_format(app: typer.Typer, runner: CliRunner, data: Path, tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    runner.invoke(app, ["import", "yntp", str(data), "--db", str(db)])
    with Store(db) as store:
        en_id = store.list_sessions(language="en")[0].id
    out = tmp_path / "out"
    r = runner.invoke(
        app, ["export", "--format", "jsonl", str(out / "t.jsonl"), "--db", str(db), "--language", "jp"]
    )
    assert r.exit_code == 0, r.output
    rows = [json.loads(x) for x in (out / "t.jsonl").read_text(encoding="utf-8").splitlines()]
    assert {x["user_id"] for x in rows} == {"jp_1"} and len(rows) == 5

    r = runner.invoke(
        app, ["export", "-f", "parquet", str(out / "t.parquet"), "--db", str(db), "--session", en_id]
    )
    assert r.exit_code == 0, r.output
    with duckdb.connect() as con:
        got = con.execute(f"SELECT DISTINCT session_id FROM read_parquet('{out / 't.parquet'}')").fetchall()
    assert got == [(en_id,)]

    r = runner.invoke(
        app, ["export", "--format", "yntp", str(out / "y"), "--db", str(db), "--source", "yntp100"]
    )
    assert r.exit_code == 0, r.output
    assert sorted(p.relative_to(out / "y").as_posix() for p in (out / "y").rglob("*.json")) == [
        "en/en_1.json",
        "jp/jp_1.json",
    ]
    r = runner.invoke(app, ["export", "--format", "yntp", str(out / "y"), "--db", str(db)])
    assert r.exit_code == 1 and "already exists" in r.output
    r = runner.invoke(app, ["export", "--format", "yntp", str(out / "y"), "--db", str(db), "--force"])
    assert r.exit_code == 0, r.output


def test_export_rejects_an_unknown_format(app: typer.Typer, runner: CliRunner, tmp_path: Path) -> None:
    r = runner.invoke(
        app, ["export", "--format", "csv", str(tmp_path / "t.csv"), "--db", str(tmp_path / "s.db")]
    )
    assert r.exit_code == 2 and "csv" in r.output
    assert not (tmp_path / "t.csv").exists() and not (tmp_path / "s.db").exists()


def test_export_anonymised_with_persona_names(
    app: typer.Typer, runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SHAREHOUSE_ANON_SALT", raising=False)
    root = tmp_path / "d"
    (root / "en").mkdir(parents=True)
    doc = _doc("x")
    doc["day_1"][0]["response"] = "I'm Quillon Vantablack, mail quillon@example.org"
    (root / "en" / "en_1.json").write_text(json.dumps(doc), encoding="utf-8")
    db = tmp_path / "s.duckdb"
    assert runner.invoke(app, ["import", "yntp", str(root), "--db", str(db)]).exit_code == 0
    persona = {
        "id": "p-en-001", "name": "Quillon Vantablack", "language": "en", "age": 30, "occupation": "baker",
        "background": "grew up by the sea", "mbti": "INFP",
        "mbti_strength": {"ei": 0.6, "sn": 0.7, "tf": 0.8, "jp": 0.6},
        "values": ["honesty"], "preferences": ["tea"],
        "style": {
            "reply_length": {"min": 3, "max": 20, "unit": "words"}, "formality": "casual", "first_person": None,
            "punctuation": "minimal", "emoji_rate": 0.1, "casing": "normal", "line_breaks": "never",
            "typo_rate": 0.0, "elaboration": "moderate", "sample_replies": ["sure", "sounds fun"],
        },
    }  # fmt: skip
    personas = tmp_path / "personas.jsonl"
    personas.write_text(json.dumps(persona) + "\n", encoding="utf-8")
    out = tmp_path / "anon.jsonl"
    before = (db.stat().st_size, db.stat().st_mtime_ns)
    r = runner.invoke(
        app,
        [
            "export",
            "--format",
            "jsonl",
            str(out),
            "--db",
            str(db),
            "--anonymize",
            "--personas",
            str(personas),
        ],
    )
    assert r.exit_code == 0, r.output
    assert "random salt" in r.output
    assert (db.stat().st_size, db.stat().st_mtime_ns) == before
    first = json.loads(out.read_text(encoding="utf-8").splitlines()[0])
    assert first["response"] == "I'm [NAME], mail [EMAIL]"
    assert first["user_id"].startswith("u-") and first["session_id"].startswith("s-")
    r = runner.invoke(
        app,
        [
            "export",
            "--format",
            "jsonl",
            str(tmp_path / "a2.jsonl"),
            "--db",
            str(db),
            "--anonymize",
            "--salt",
            "k",
        ],
    )
    assert r.exit_code == 0 and "random salt" not in r.output
    r = runner.invoke(
        app,
        ["export", "--format", "jsonl", str(tmp_path / "a3.jsonl"), "--db", str(tmp_path / "none.duckdb")],
    )
    assert r.exit_code == 2 and "no database" in r.output


def test_export_anonymised_with_the_shipped_personas_keeps_the_housemates(
    app: typer.Typer, runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The defaults: the shipped personas have "Grace Evans", the shipped scenario a housemate Leo."""
    monkeypatch.delenv("SHAREHOUSE_SCENARIO", raising=False)
    root = tmp_path / "d"
    (root / "en").mkdir(parents=True)
    doc = _doc("x")
    doc["day_1"][0] = {
        "speaker": "Donatello",  # not a speaker name: only the scenario says that Leo is a housemate
        "message": "Leo here! Mina and Kenji say hi.",
        "response": "Hi Leo, Noel told me. I'm Grace Evans; Evans is fine.",
    }
    (root / "en" / "en_1.json").write_text(json.dumps(doc), encoding="utf-8")
    db = tmp_path / "s.duckdb"
    assert runner.invoke(app, ["import", "yntp", str(root), "--db", str(db)]).exit_code == 0
    out = tmp_path / "anon.jsonl"
    r = runner.invoke(app, ["export", "-f", "jsonl", str(out), "--db", str(db), "--anonymize", "--salt", "k"])
    assert r.exit_code == 0, r.output
    first = json.loads(out.read_text(encoding="utf-8").splitlines()[0])
    assert first["message"] == "Leo here! Mina and Kenji say hi."
    assert first["response"] == "Hi Leo, Noel told me. I'm [NAME]; [NAME] is fine."

    bad = tmp_path / "bad-scenario.json"
    bad.write_text("{}", encoding="utf-8")
    r = runner.invoke(
        app,
        [
            "export",
            "-f",
            "jsonl",
            str(tmp_path / "x.jsonl"),
            "--db",
            str(db),
            "--anonymize",
            "--scenario",
            str(bad),
        ],
    )
    assert r.exit_code == 2 and "bad-scenario.json: $.id" in r.output
    assert not (tmp_path / "x.jsonl").exists()


def test_import_reports_fields_cut_to_the_length_cap(
    app: typer.Typer, runner: CliRunner, tmp_path: Path
) -> None:
    root = tmp_path / "d"
    (root / "en").mkdir(parents=True)
    doc = _doc("x")
    doc["day_3"][0]["response"] = "long " * 5000  # 25 000 characters
    (root / "en" / "en_7.json").write_text(json.dumps(doc), encoding="utf-8")
    (root / "en" / "en_8.json").write_text(json.dumps(_doc("y")), encoding="utf-8")
    db = tmp_path / "s.duckdb"
    r = runner.invoke(app, ["import", "yntp", str(root), "--db", str(db)])
    assert r.exit_code == 0, r.output
    assert "fields cut to 20000 characters" in r.output
    assert "en/en_7.json: $.day_3[0].response: longer than 20000 characters" in r.output
    assert "en_8" not in r.output.split("fields cut")[1]
