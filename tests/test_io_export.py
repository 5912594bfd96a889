"""Exporting sessions: filters, JSONL and Parquet (DuckDB and datasets), atomic writes, anonymised releases."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import pytest

from sharehouse.io import COLUMNS, ExportError, ExportFilters, export_sessions, import_yntp
from sharehouse.io import export as export_mod
from sharehouse.store import SessionRecord, Store, TurnRecord

SECRET = "sk-do-not-leak-0123456789"


def _query(sql: str) -> list[tuple[Any, ...]]:
    with duckdb.connect() as con:
        return con.execute(sql).fetchall()


def _session(store: Store, sid: str, **kw: Any) -> SessionRecord:
    fields: dict[str, Any] = {
        "id": sid, "kind": "simulated", "source": "simulate", "user_id": kw.pop("user_id", "p-en-001"),
        "persona_id": "p-en-001", "language": "en", "run_id": "run-a", "status": "complete",
        "llm_config": {"model": "local", "api_base": "http://localhost:1", "note": SECRET},
        "pending_message": f"pending {SECRET}",
    }  # fmt: skip
    fields.update(kw)
    rec = store.create_session(SessionRecord(**fields))
    return rec


def _turns(store: Store, sid: str, texts: list[tuple[int, str, str]]) -> None:
    idx: dict[int, int] = {}
    for day, message, response in texts:
        i = idx.get(day, 0)
        idx[day] = i + 1
        store.append_turn(
            TurnRecord(
                session_id=sid,
                day=day,
                idx=i,
                npc="DaVinci",
                message=message,
                response=response,
                state_id=f"d{day}.s{i}",
                mbti="EI",
                verdict="advance",
                is_followup=(i == 1),
            )  # fmt: skip
        )


@pytest.fixture
def store(tmp_path: Path) -> Store:
    st = Store(tmp_path / "store.duckdb")
    _session(st, "sess-en")
    _turns(
        st,
        "sess-en",
        [(d, f"Q{d}", f"A{d} from emily@example.com") for d in range(1, 6)] + [(5, "Q5b", "A5b")],
    )
    _session(st, "sess-ja", language="ja", user_id="p-ja-002", persona_id="p-ja-002", run_id="run-b")
    _turns(st, "sess-ja", [(1, "元気？", "田中です。090-1234-5678にどうぞ"), (2, "明日は？", "晴れ")])
    _session(st, "sess-zh", language="zh", user_id="p-zh-003", persona_id="p-zh-003", status="failed")
    _turns(st, "sess-zh", [(1, "你好", "我是王伟")])
    _session(
        st,
        "sess-human",
        kind="human",
        source="play",
        user_id="alice",
        persona_id=None,
        run_id=None,
        llm_config=None,
    )
    _turns(st, "sess-human", [(1, "Hi", "Hello\nthere"), (4, "Q", "A")])
    yield st
    st.close()


def _snapshot(store: Store) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    return (
        store.fetchall("SELECT * FROM sessions ORDER BY id"),
        store.fetchall("SELECT * FROM turns ORDER BY session_id, day, idx"),
    )


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").split("\n") if line]


def test_jsonl_rows_and_columns(store: Store, tmp_path: Path) -> None:
    out = tmp_path / "turns.jsonl"
    report = export_sessions(store, out, "jsonl")
    assert (report.sessions, report.turns, report.files) == (4, 11, 1)
    rows = _read_jsonl(out)
    assert len(rows) == 11
    assert all(list(r) == list(COLUMNS) for r in rows)
    en = [r for r in rows if r["session_id"] == "sess-en"]
    assert [(r["day"], r["idx"], r["split"]) for r in en] == [
        (1, 0, "train"), (2, 0, "train"), (3, 0, "train"), (4, 0, "train"), (5, 0, "test"), (5, 1, "test"),
    ]  # fmt: skip
    assert en[-1]["is_followup"] is True and en[0]["is_followup"] is False
    assert en[0]["state_id"] == "d1.s0" and en[0]["mbti"] == "EI" and en[0]["verdict"] == "advance"
    assert en[0]["run_id"] == "run-a" and en[0]["kind"] == "simulated" and en[0]["persona_id"] == "p-en-001"
    human = [r for r in rows if r["session_id"] == "sess-human"]
    assert (
        human[0]["response"] == "Hello\nthere"
        and human[0]["persona_id"] is None
        and human[0]["run_id"] is None
    )


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (ExportFilters(run_id="run-b"), {"sess-ja"}),
        (ExportFilters(source="play"), {"sess-human"}),
        (ExportFilters(language="jp"), {"sess-ja"}),
        (ExportFilters(language="zh"), {"sess-zh"}),
        (ExportFilters(status="complete"), {"sess-en", "sess-ja", "sess-human"}),
        (ExportFilters(session_ids=["sess-zh", "sess-en"]), {"sess-en", "sess-zh"}),
        (ExportFilters(run_id="run-a", language="ja"), set()),
    ],
)
def test_filters(store: Store, tmp_path: Path, filters: ExportFilters, expected: set[str]) -> None:
    out = tmp_path / "f.jsonl"
    report = export_sessions(store, out, "jsonl", filters=filters)
    assert {r["session_id"] for r in _read_jsonl(out)} == expected
    assert report.sessions == len(expected)


def test_unknown_session_ids_are_reported(store: Store, tmp_path: Path) -> None:
    report = export_sessions(
        store, tmp_path / "x.jsonl", "jsonl", filters=ExportFilters(session_ids=["sess-en", "nope"])
    )
    assert report.sessions == 1 and report.missing_session_ids == ["nope"]


def test_parquet_read_by_duckdb(store: Store, tmp_path: Path) -> None:
    out = tmp_path / "turns.parquet"
    report = export_sessions(store, out, "parquet")
    assert report.turns == 11
    types = {row[0]: row[1] for row in _query(f"DESCRIBE SELECT * FROM read_parquet('{out}')")}
    assert list(types) == list(COLUMNS)
    assert types["day"] == "INTEGER" and types["idx"] == "INTEGER" and types["is_followup"] == "BOOLEAN"
    assert types["message"] == "VARCHAR"
    rows = _query(f"SELECT split, count(*) FROM read_parquet('{out}') GROUP BY split ORDER BY split")
    assert rows == [("test", 2), ("train", 9)]
    ja = _query(f"SELECT response FROM read_parquet('{out}') WHERE language = 'ja' ORDER BY day")
    assert ja == [("田中です。090-1234-5678にどうぞ",), ("晴れ",)]


def test_parquet_read_by_datasets(store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    import datasets

    out = tmp_path / "turns.parquet"
    export_sessions(store, out, "parquet")
    ds = datasets.load_dataset(
        "parquet", data_files=str(out), split="train", cache_dir=str(tmp_path / "cache")
    )
    assert ds.num_rows == 11
    assert ds.column_names == list(COLUMNS)
    assert ds.features["day"].dtype == "int32" and ds.features["is_followup"].dtype == "bool"
    human = ds.filter(lambda r: r["session_id"] == "sess-human")
    assert human[0]["response"] == "Hello\nthere"


def test_empty_parquet_keeps_the_schema(store: Store, tmp_path: Path) -> None:
    out = tmp_path / "empty.parquet"
    report = export_sessions(store, out, "parquet", filters=ExportFilters(source="nothing"))
    assert report.sessions == 0 and report.turns == 0
    cols = [r[0] for r in _query(f"DESCRIBE SELECT * FROM read_parquet('{out}')")]
    assert cols == list(COLUMNS)


def test_llm_config_and_pending_text_are_never_exported(store: Store, tmp_path: Path) -> None:
    for fmt in ("yntp", "jsonl", "parquet"):
        for anonymize in (False, True):
            out = tmp_path / f"{fmt}-{anonymize}"
            export_sessions(store, out, fmt, anonymize=anonymize, salt="k")  # type: ignore[arg-type]
            files = [p for p in out.rglob("*") if p.is_file()] if out.is_dir() else [out]
            for f in files:
                data = f.read_bytes()
                assert SECRET.encode() not in data and b"localhost:1" not in data, f


def test_existing_target_is_not_overwritten_unless_asked(store: Store, tmp_path: Path) -> None:
    out = tmp_path / "t.jsonl"
    out.write_text("keep me")
    with pytest.raises(ExportError, match="already exists"):
        export_sessions(store, out, "jsonl")
    assert out.read_text() == "keep me"
    export_sessions(store, out, "jsonl", overwrite=True)
    assert len(_read_jsonl(out)) == 11
    folder = tmp_path / "y"
    export_sessions(store, folder, "yntp", filters=ExportFilters(language="en"))
    with pytest.raises(ExportError):
        export_sessions(store, folder, "yntp")
    export_sessions(store, folder, "yntp", overwrite=True)
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.json")) == [
        "cn/p-zh-003.json", "en/alice.json", "en/p-en-001.json", "jp/p-ja-002.json",
    ]  # fmt: skip
    empty = tmp_path / "empty-dir"
    empty.mkdir()
    assert export_sessions(store, empty, "yntp").files == 4


def test_failed_export_leaves_nothing(store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(path: Path, rows: Any) -> int:
        path.write_text("partial")
        next(iter(rows))
        raise OSError("disk full")

    monkeypatch.setattr(export_mod, "write_parquet", boom)
    monkeypatch.setattr(export_mod, "write_jsonl", boom)
    for name, fmt in (("a.parquet", "parquet"), ("b.jsonl", "jsonl")):
        with pytest.raises(OSError, match="disk full"):
            export_sessions(store, tmp_path / "out" / name, fmt)  # type: ignore[arg-type]

    def boom_file(path: Path, document: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(export_mod, "write_yntp_file", boom_file)
    with pytest.raises(OSError):
        export_sessions(store, tmp_path / "out" / "y", "yntp")
    assert list((tmp_path / "out").iterdir()) == []


def test_yntp_rejects_languages_without_a_folder(store: Store, tmp_path: Path) -> None:
    _session(store, "sess-ko", language="ko", user_id="k")
    with pytest.raises(ExportError, match="ko"):
        export_sessions(store, tmp_path / "y", "yntp")
    assert not (tmp_path / "y").exists()
    assert export_sessions(store, tmp_path / "y", "yntp", filters=ExportFilters(language="en")).sessions == 2


def test_same_user_twice_gets_two_files(store: Store, tmp_path: Path) -> None:
    _session(store, "sess-en-2", user_id="p-en-001")
    _turns(store, "sess-en-2", [(1, "again", "yes")])
    out = tmp_path / "y"
    export_sessions(store, out, "yntp", filters=ExportFilters(language="en"))
    assert sorted(p.name for p in (out / "en").iterdir()) == [
        "alice.json",
        "p-en-001-2.json",
        "p-en-001.json",
    ]
    with Store(tmp_path / "fresh.duckdb") as fresh:
        assert len(import_yntp(fresh, out).imported) == 3


# -- anonymised releases -------------------------------------------------------------------------
def test_anonymised_jsonl(store: Store, tmp_path: Path) -> None:
    before = _snapshot(store)
    out = tmp_path / "anon.jsonl"
    report = export_sessions(store, out, "jsonl", anonymize=True, salt="pepper", names=["Alice Walker"])
    assert _snapshot(store) == before  # the store is never modified
    rows = _read_jsonl(out)
    text = out.read_text(encoding="utf-8")
    for original in (
        "sess-en",
        "sess-ja",
        "p-en-001",
        "p-ja-002",
        "alice",
        "emily@example.com",
        "090-1234-5678",
        "田中",
        "王伟",
    ):
        assert original not in text, original
    assert report.salt_source == "option" and report.anonymized
    assert report.replacements is not None
    assert (report.replacements.email, report.replacements.phone, report.replacements.name) == (5, 1, 2)
    ja = [r for r in rows if r["language"] == "ja"]
    assert ja[0]["response"] == "[NAME]です。[PHONE]にどうぞ"
    assert ja[0]["user_id"][2:] == ja[0]["persona_id"][2:]
    assert {r["session_id"][:2] for r in rows} == {"s-"}
    # same salt: same pseudonyms; another salt: different ones
    again = tmp_path / "again.jsonl"
    export_sessions(store, again, "jsonl", anonymize=True, salt="pepper")
    assert [r["session_id"] for r in _read_jsonl(again)] == [r["session_id"] for r in rows]
    other = tmp_path / "other.jsonl"
    export_sessions(store, other, "jsonl", anonymize=True, salt="salt")
    assert not {r["session_id"] for r in _read_jsonl(other)} & {r["session_id"] for r in rows}


def test_anonymised_salt_from_environment(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHAREHOUSE_ANON_SALT", "pepper")
    a = export_sessions(store, tmp_path / "a.jsonl", "jsonl", anonymize=True)
    b = export_sessions(store, tmp_path / "b.jsonl", "jsonl", anonymize=True, salt="pepper")
    assert a.salt_source == "env"
    assert _read_jsonl(tmp_path / "a.jsonl") == _read_jsonl(tmp_path / "b.jsonl")
    assert b.salt_source == "option"
    monkeypatch.delenv("SHAREHOUSE_ANON_SALT")
    c = export_sessions(store, tmp_path / "c.jsonl", "jsonl", anonymize=True)
    assert c.salt_source == "random"
    assert (
        _read_jsonl(tmp_path / "c.jsonl")[0]["session_id"]
        != _read_jsonl(tmp_path / "a.jsonl")[0]["session_id"]
    )


def test_anonymised_yntp_and_parquet(store: Store, tmp_path: Path) -> None:
    out = tmp_path / "anon-y"
    report = export_sessions(
        store, out, "yntp", anonymize=True, salt="pepper", filters=ExportFilters(language="ja")
    )
    [path] = list((out / "jp").iterdir())
    assert path.stem.startswith("u-") and "p-ja-002" not in path.name
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert doc["day_1"] == [
        {"speaker": "DaVinci", "message": "元気？", "response": "[NAME]です。[PHONE]にどうぞ"}
    ]
    assert report.replacements is not None and report.replacements.total == 2
    pq = tmp_path / "anon.parquet"
    export_sessions(store, pq, "parquet", anonymize=True, salt="pepper")
    got = _query(f"SELECT DISTINCT user_id FROM read_parquet('{pq}') ORDER BY 1")
    assert len(got) == 4 and all(u.startswith("u-") for (u,) in got)
    assert path.stem in {u for (u,) in got}


def test_anonymised_export_keeps_housemates_and_replaces_the_players_nickname(tmp_path: Path) -> None:
    from sharehouse.io.names import scenario_housemates
    from sharehouse.scenario import default_scenario_path, load_scenario

    with Store(tmp_path / "s.duckdb") as st:
        _session(st, "game", kind="human", source="play", user_id="Quinby", persona_id=None)
        st.append_turn(
            TurnRecord(session_id="game", day=1, idx=0, npc="Leo", message="Hey Quinby! Mina says hi.",
                       response="Hi Leo! I'm Quinby Evans, and Kenji knows my cousin Leo Evans.")
        )  # fmt: skip
        _session(st, "other", user_id="p-en-009", persona_id="p-en-009")
        st.append_turn(
            TurnRecord(session_id="other", day=1, idx=0, npc="Noel", message="Noel here.", response="Quinby?")
        )
        housemates = scenario_housemates([load_scenario(default_scenario_path())])
        out = tmp_path / "a.jsonl"
        report = export_sessions(
            st, out, "jsonl", anonymize=True, salt="k", names=["Leo Evans"], housemates=housemates
        )
        rows = {r["npc"]: r for r in _read_jsonl(out)}
        assert rows["Leo"]["message"] == "Hey [NAME]! Mina says hi."
        assert rows["Leo"]["response"] == "Hi Leo! I'm [NAME], and Kenji knows my cousin [NAME]."
        assert rows["Noel"] == rows["Noel"] | {
            "message": "Noel here.",
            "response": "Quinby?",
        }  # not this player
        assert report.replacements is not None and report.replacements.name == 3
        # the speakers of the exported turns are kept even without the scenario
        export_sessions(st, tmp_path / "b.jsonl", "jsonl", anonymize=True, salt="k", names=["Leo Evans"])
        assert {r["response"] for r in _read_jsonl(tmp_path / "b.jsonl")} >= {
            "Hi Leo! I'm [NAME], and Kenji knows my cousin [NAME]."
        }


def test_check_and_fallback_columns(tmp_path: Path) -> None:
    with Store(tmp_path / "s.duckdb") as st:
        _session(st, "s1")
        st.append_turn(
            TurnRecord(session_id="s1", day=1, idx=0, npc="Leo", message="q?", response="a", verdict="advance",
                       check_by="fallback", check_reason="judge unavailable; emily@example.com", npc_fallback=True,
                       reply_fallback=False)
        )  # fmt: skip
        st.append_turn(TurnRecord(session_id="s1", day=1, idx=1, npc="Leo", message="q2?", response="b"))
        export_sessions(st, tmp_path / "t.jsonl", "jsonl")
        first, second = _read_jsonl(tmp_path / "t.jsonl")
        assert (first["check_by"], first["npc_fallback"], first["reply_fallback"]) == (
            "fallback",
            True,
            False,
        )
        assert first["check_reason"] == "judge unavailable; emily@example.com"
        assert (second["check_by"], second["check_reason"], second["npc_fallback"]) == (None, None, None)
        export_sessions(st, tmp_path / "t.parquet", "parquet")
        types = {
            r[0]: r[1] for r in _query(f"DESCRIBE SELECT * FROM read_parquet('{tmp_path / 't.parquet'}')")
        }
        assert types["npc_fallback"] == "BOOLEAN" and types["check_by"] == "VARCHAR"
        got = _query(
            f"SELECT check_by, npc_fallback, reply_fallback FROM read_parquet('{tmp_path / 't.parquet'}') ORDER BY idx"
        )
        assert got == [("fallback", True, False), (None, None, None)]
        export_sessions(st, tmp_path / "anon.jsonl", "jsonl", anonymize=True, salt="k")
        assert _read_jsonl(tmp_path / "anon.jsonl")[0]["check_reason"] == "judge unavailable; [EMAIL]"
        export_sessions(st, tmp_path / "y", "yntp")  # the YNTP layout keeps its fixed fields
        doc = json.loads((tmp_path / "y" / "en" / "p-en-001.json").read_text(encoding="utf-8"))
        assert set(doc["day_1"][0]) == {"speaker", "message", "response"}
