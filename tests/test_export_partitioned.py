"""The partitioned Parquet export: a folder of ``language=<l>/run_id=<r>/part-NNNN.parquet`` files
that DuckDB and ``datasets`` read as one table with the columns and rows of the single-file export."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import pytest
import typer
from typer.testing import CliRunner

from sharehouse.cli_io import register
from sharehouse.io import COLUMNS, ExportError, ExportFilters, export_sessions
from sharehouse.io import export as export_mod
from sharehouse.store import SessionRecord, Store, TurnRecord
from sharehouse.store.bulk import insert_turns

#: (language, run) of the synthetic sessions: two languages, two runs (one needing encoding), no run
GROUPS: tuple[tuple[str, str | None], ...] = (
    ("en", "run-a"), ("en", "run/b 2"), ("ja", "run-a"), ("ja", "run/b 2"), ("ja", None),
)  # fmt: skip
SESSIONS_PER_GROUP = 4
TURNS_PER_DAY = 3


def _build(path: Path) -> Store:
    """A real store of 5 groups × 4 sessions × 5 days × 3 turns (300 turns), written with the store API."""
    store = Store(path)
    for language, run in GROUPS:
        for k in range(SESSIONS_PER_GROUP):
            sid = f"s-{language}-{run or 'none'}-{k}"
            store.create_session(
                SessionRecord(
                    id=sid, kind="simulated", source="simulate", user_id=f"p-{language}-{k:03d}",
                    persona_id=f"p-{language}-{k:03d}", language=language, run_id=run,
                    status="complete" if k else "failed", llm_config={"model": "local"},
                )
            )  # fmt: skip
            turns = [
                TurnRecord(
                    session_id=sid, day=day, idx=i, npc="Leo" if i % 2 else "Mina", state_id=f"d{day}.s{i}",
                    mbti="E/I", message=f"{language} day {day} question {i}: what about the garden?",
                    response=f"Reply {k}.{day}.{i}, write to anna{k}@example.com or call Alice Walker",
                    verdict="follow_up" if i == 1 else "advance", is_followup=i == 2, check_by="llm",
                    check_reason="a clear answer", npc_fallback=i == 0, reply_fallback=False,
                    npc_rejected=i, npc_reject_reasons=json.dumps(["echo"] * i),
                )
                for day in range(1, 6)
                for i in range(TURNS_PER_DAY)
            ]  # fmt: skip
            insert_turns(store, turns)
    return store


@pytest.fixture
def store(tmp_path: Path) -> Any:
    st = _build(tmp_path / "store.duckdb")
    yield st
    st.close()


def _duckdb_rows(source: str, *, hive: bool) -> tuple[list[tuple[str, str]], list[tuple[Any, ...]]]:
    """Column names and types, and every row ordered by session, day and index."""
    scan = f"read_parquet('{source}', hive_partitioning = {str(hive).lower()})"
    with duckdb.connect() as con:
        types = con.execute(
            f"SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM {scan})"
        ).fetchall()
        rows = con.execute(f"SELECT * FROM {scan} ORDER BY session_id, day, idx").fetchall()
    return [(str(n), str(t)) for n, t in types], rows


def _datasets_rows(tmp_path: Path, **where: str) -> tuple[Any, list[dict[str, Any]]]:
    import datasets

    ds = datasets.load_dataset("parquet", split="train", cache_dir=str(tmp_path / "hf-cache"), **where)
    rows = sorted(ds.to_list(), key=lambda r: (r["session_id"], r["day"], r["idx"]))
    return ds.features, rows


def test_layout_and_report(store: Store, tmp_path: Path) -> None:
    out = tmp_path / "parts"
    report = export_sessions(store, out, "parquet", partitioned=True, rows_per_file=25)
    assert report.partitioned and report.format == "parquet"
    assert (report.sessions, report.turns) == (20, 300)
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.parquet"))
    assert report.files == len(files) == 5 * 3  # 60 turns a group: files of 25, 25 and 10 turns
    assert {f.rsplit("/", 1)[0] for f in files} == {
        "language=en/run_id=run-a", "language=en/run_id=run%2Fb%202", "language=ja/run_id=run-a",
        "language=ja/run_id=run%2Fb%202", "language=ja/run_id=__HIVE_DEFAULT_PARTITION__",
    }  # fmt: skip
    assert {f.rsplit("/", 1)[1] for f in files} == {
        "part-0000.parquet",
        "part-0001.parquet",
        "part-0002.parquet",
    }
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".parts")]  # no temporary folder left


def test_duckdb_and_datasets_read_it_as_the_single_file(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    single = tmp_path / "turns.parquet"
    export_sessions(store, single, "parquet")
    out = tmp_path / "parts"
    export_sessions(store, out, "parquet", partitioned=True, rows_per_file=25)

    types, rows = _duckdb_rows(str(single), hive=False)
    hive_types, hive_rows = _duckdb_rows(f"{out}/**/*.parquet", hive=True)
    assert [n for n, _ in types] == list(COLUMNS)
    assert hive_types == types
    assert hive_rows == rows and len(rows) == 300
    by_col = {c: i for i, c in enumerate(COLUMNS)}
    assert {r[by_col["run_id"]] for r in hive_rows} == {"run-a", "run/b 2", None}  # decoded, NULL kept

    features, ds_rows = _datasets_rows(tmp_path, data_dir=str(out))
    single_features, single_rows = _datasets_rows(tmp_path, data_files=str(single))
    assert list(features) == list(COLUMNS)
    assert features == single_features
    assert ds_rows == single_rows and len(ds_rows) == 300


def test_anonymised_and_filtered_like_the_single_file(store: Store, tmp_path: Path) -> None:
    names = ["Alice Walker"]
    single = tmp_path / "anon.parquet"
    a = export_sessions(store, single, "parquet", anonymize=True, salt="pepper", names=names)
    out = tmp_path / "anon"
    b = export_sessions(store, out, "parquet", anonymize=True, salt="pepper", names=names, partitioned=True)
    assert a.replacements == b.replacements and b.replacements is not None and b.replacements.email == 300
    assert _duckdb_rows(f"{out}/**/*.parquet", hive=True)[1] == _duckdb_rows(str(single), hive=False)[1]

    filters = ExportFilters(
        language="ja", status="complete", session_ids=["s-ja-run-a-1", "s-ja-none-2", "gone"]
    )
    c = export_sessions(store, tmp_path / "ja", "parquet", filters=filters, partitioned=True)
    assert (c.sessions, c.turns, c.missing_session_ids) == (2, 30, ["gone"])
    assert sorted(p.parent.name for p in (tmp_path / "ja").rglob("*.parquet")) == [
        "run_id=__HIVE_DEFAULT_PARTITION__",
        "run_id=run-a",
    ]


def test_batches_across_partitions(store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Sessions read 3 at a time (batches straddle partitions) give the same rows."""
    export_sessions(store, tmp_path / "whole", "parquet", partitioned=True)
    monkeypatch.setattr(export_mod, "SESSION_BATCH", 3)
    report = export_sessions(store, tmp_path / "batched", "parquet", partitioned=True)
    assert report.files == 5 and report.turns == 300
    for path in sorted((tmp_path / "whole").rglob("*.parquet")):
        twin = tmp_path / "batched" / path.relative_to(tmp_path / "whole")
        assert twin.read_bytes() == path.read_bytes()


def test_targets_and_errors(store: Store, tmp_path: Path) -> None:
    file = tmp_path / "taken.parquet"
    file.write_text("keep me")
    with pytest.raises(ExportError, match="is a file; a partitioned export writes a folder"):
        export_sessions(store, file, "parquet", partitioned=True)
    assert file.read_text() == "keep me"

    out = tmp_path / "parts"
    export_sessions(store, out, "parquet", partitioned=True, filters=ExportFilters(language="en"))
    before = sorted(p.relative_to(out) for p in out.rglob("*"))
    with pytest.raises(ExportError, match="already exists and is not empty"):
        export_sessions(store, out, "parquet", partitioned=True)
    assert sorted(p.relative_to(out) for p in out.rglob("*")) == before
    report = export_sessions(store, out, "parquet", partitioned=True, overwrite=True)
    assert report.turns == 300 and len(list(out.glob("language=ja"))) == 1

    with pytest.raises(ExportError, match="Parquet only"):
        export_sessions(store, tmp_path / "j", "jsonl", partitioned=True)
    with pytest.raises(ExportError, match="at least 1"):
        export_sessions(store, tmp_path / "z", "parquet", partitioned=True, rows_per_file=0)

    empty = tmp_path / "empty"
    empty.mkdir()
    none = export_sessions(store, empty, "parquet", partitioned=True, filters=ExportFilters(source="nothing"))
    assert (
        (none.sessions, none.turns, none.files) == (0, 0, 0) and empty.is_dir() and not any(empty.iterdir())
    )


def test_cli(store: Store, tmp_path: Path) -> None:
    app = typer.Typer()

    @app.callback()
    def main() -> None:
        """A test app."""

    register(app)
    runner = CliRunner()
    db = str(store.path)
    store.close()  # the command opens the file itself
    out = tmp_path / "cli-parts"
    result = runner.invoke(
        app, ["export", str(out), "--format", "parquet", "--partitioned", "--rows-per-file", "50", "--db", db]
    )
    assert result.exit_code == 0, result.output
    assert "partitioned by" in result.output and "language, run_id" in result.output
    assert len(list(out.rglob("*.parquet"))) == 10

    result = runner.invoke(
        app, ["export", str(tmp_path / "x.parquet"), "-f", "parquet", "--rows-per-file", "5", "--db", db]
    )
    assert result.exit_code == 2 and "--partitioned" in result.output
    result = runner.invoke(
        app, ["export", str(tmp_path / "x.jsonl"), "-f", "jsonl", "--partitioned", "--db", db]
    )
    assert result.exit_code == 1 and "Parquet only" in result.output
    (tmp_path / "file").write_text("x")
    result = runner.invoke(
        app, ["export", str(tmp_path / "file"), "-f", "parquet", "--partitioned", "--db", db]
    )
    assert result.exit_code == 1 and "is a file" in result.output


def test_shards_read_as_one_table(store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Stores of one run split by persona (here: by language), each exported into its own folder,
    read as one table: what docs/scaling.md tells a sharded run to do."""
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    out = tmp_path / "out"
    for k, language in enumerate(("en", "ja")):
        export_sessions(
            store, out / f"shard-{k}", "parquet", filters=ExportFilters(language=language), partitioned=True
        )
    export_sessions(store, tmp_path / "all.parquet", "parquet")
    assert _duckdb_rows(f"{out}/**/*.parquet", hive=True) == _duckdb_rows(
        str(tmp_path / "all.parquet"), hive=False
    )
    _, rows = _datasets_rows(tmp_path, data_dir=str(out))
    assert rows == _datasets_rows(tmp_path, data_files=str(tmp_path / "all.parquet"))[1]
