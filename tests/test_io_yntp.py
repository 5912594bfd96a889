"""Importing YNTP-100 files: the real dataset, re-imports, round trips and malformed files."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import pytest

from sharehouse.io import ImportReport, YntpImportError, export_sessions, import_yntp, session_id_for
from sharehouse.store import Store
from sharehouse.store.bulk import load_turns_for
from sharehouse.textclean import sanitize_input

SHARED = Path(__file__).resolve().parents[2] / "shared"
YNTP100 = SHARED / "yntp100"
DIR_LANG = {"en": "en", "cn": "zh", "jp": "ja"}


@pytest.fixture(scope="module")
def dataset() -> Path:
    if not YNTP100.is_dir():
        pytest.fail(f"the YNTP-100 dataset is missing at {YNTP100}")
    return YNTP100


@pytest.fixture(scope="module")
def imported(dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Store, ImportReport]:
    store = Store(tmp_path_factory.mktemp("yntp") / "store.duckdb")
    report = import_yntp(store, dataset)
    yield store, report
    store.close()


def _files(root: Path) -> list[Path]:
    return sorted(root.glob("*/*.json"))


def _turn_tuples(store: Store, session_id: str) -> list[tuple[int, int, str, str, str]]:
    return [(t.day, t.idx, t.npc, t.message, t.response) for t in store.load_turns(session_id)]


def _write(path: Path, content: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")


def _good_doc(tag: str = "x") -> dict[str, list[dict[str, str]]]:
    return {
        f"day_{d}": [
            {"speaker": "DaVinci", "message": f"question {d}.{i} {tag}", "response": f"answer {d}.{i} {tag}"}
            for i in range(2)
        ]
        for d in range(1, 6)
    }


# -- the real dataset ----------------------------------------------------------------------------
def test_imports_all_100_files_with_every_turn(dataset: Path, imported: tuple[Store, ImportReport]) -> None:
    store, report = imported
    files = _files(dataset)
    assert len(files) == 100
    assert report.ok, report.error_lines()
    assert len(report.imported) == 100 and not report.skipped and not report.replaced
    sessions = store.list_sessions(source="yntp100")
    assert len(sessions) == 100
    by_origin = {s.origin: s for s in sessions}
    counts = store.turn_counts()
    for path in files:
        origin = path.relative_to(dataset).as_posix()
        data = json.loads(path.read_text(encoding="utf-8"))
        session = by_origin[origin]
        assert session.id == session_id_for("yntp100", origin)
        assert session.user_id == path.stem
        assert session.language == DIR_LANG[path.parent.name]
        assert session.kind == "human" and session.status == "complete"
        assert counts[session.id] == sum(len(data[f"day_{d}"]) for d in range(1, 6))


def test_languages_match_the_files(dataset: Path, imported: tuple[Store, ImportReport]) -> None:
    store, _ = imported
    from_files = Counter(DIR_LANG[p.parent.name] for p in _files(dataset))
    from_store = Counter(s.language for s in store.list_sessions())
    assert from_store == from_files == Counter({"en": 33, "zh": 34, "ja": 33})


def test_turn_fields_match_the_files(dataset: Path, imported: tuple[Store, ImportReport]) -> None:
    store, _ = imported
    for path in _files(dataset)[::9]:
        data = json.loads(path.read_text(encoding="utf-8"))
        sid = session_id_for("yntp100", path.relative_to(dataset).as_posix())
        expected = [
            (d, i, t["speaker"], sanitize_input(t["message"]), sanitize_input(t["response"]))
            for d in range(1, 6)
            for i, t in enumerate(data[f"day_{d}"])
        ]
        assert _turn_tuples(store, sid) == expected
        assert {t.verdict for t in store.load_turns(sid)} == {"imported"}


def test_reimport_duplicates_nothing(dataset: Path, imported: tuple[Store, ImportReport]) -> None:
    store, _ = imported
    before = store.fetchone("SELECT count(*) FROM turns")
    again = import_yntp(store, dataset)
    assert len(again.skipped) == 100 and not again.imported and not again.replaced and not again.failed
    assert all(s.reason and "unchanged" in s.reason for s in again.skipped)
    assert store.fetchone("SELECT count(*) FROM turns") == before
    assert store.fetchone("SELECT count(*) FROM sessions") == (100,)


def test_round_trip_through_yntp_export(
    dataset: Path, imported: tuple[Store, ImportReport], tmp_path: Path
) -> None:
    store, _ = imported
    out = tmp_path / "export"
    report = export_sessions(store, out, "yntp")
    assert report.sessions == 100 and report.files == 100
    assert sorted(p.relative_to(out).as_posix() for p in _files(out)) == sorted(
        p.relative_to(dataset).as_posix() for p in _files(dataset)
    )
    with Store(tmp_path / "fresh.duckdb") as fresh:
        again = import_yntp(fresh, out)
        assert again.ok and len(again.imported) == 100
        originals = {s.origin: s.id for s in store.list_sessions()}
        copies = {s.origin: s.id for s in fresh.list_sessions()}
        assert originals.keys() == copies.keys()
        old = load_turns_for(store, list(originals.values()))
        new = load_turns_for(fresh, list(copies.values()))
        for origin, sid in originals.items():
            a = [(t.day, t.idx, t.npc, t.message, t.response) for t in old[sid]]
            b = [(t.day, t.idx, t.npc, t.message, t.response) for t in new[copies[origin]]]
            assert a == b, origin
    # the exported file equals the original file's content (after text sanitising)
    original = json.loads((dataset / "jp" / "jp_7.json").read_text(encoding="utf-8"))
    written = json.loads((out / "jp" / "jp_7.json").read_text(encoding="utf-8"))
    assert written == {
        day: [{k: sanitize_input(v) for k, v in turn.items()} for turn in turns]
        for day, turns in original.items()
    }


# -- changes and replacements --------------------------------------------------------------------
def test_changed_file_is_replaced_and_reported(tmp_path: Path) -> None:
    root = tmp_path / "data"
    _write(root / "en" / "en_1.json", json.dumps(_good_doc("one")))
    _write(root / "en" / "en_2.json", json.dumps(_good_doc("two")))
    with Store(tmp_path / "s.duckdb") as store:
        first = import_yntp(store, root, source="mine")
        assert [f.file for f in first.imported] == ["en/en_1.json", "en/en_2.json"]
        doc = _good_doc("one")
        doc["day_3"].append({"speaker": "Raffaello", "message": "new?", "response": "yes"})
        _write(root / "en" / "en_1.json", json.dumps(doc))
        second = import_yntp(store, root, source="mine")
        assert [f.file for f in second.replaced] == ["en/en_1.json"]
        assert "content changed" in (second.replaced[0].reason or "")
        assert [f.file for f in second.skipped] == ["en/en_2.json"]
        sid = session_id_for("mine", "en/en_1.json")
        assert store.turn_counts([sid]) == {sid: 11}
        assert store.fetchone("SELECT count(*) FROM sessions") == (2,)
        assert _turn_tuples(store, sid)[6] == (3, 2, "Raffaello", "new?", "yes")
        assert store.get_session(sid).source == "mine"  # type: ignore[union-attr]


def test_text_is_sanitised_but_newlines_kept(tmp_path: Path) -> None:
    doc = _good_doc()
    doc["day_1"][0]["response"] = "line one\r\nline two\x1b[31m red\x07 "
    _write(tmp_path / "d" / "cn" / "cn_9.json", json.dumps(doc))
    with Store(tmp_path / "s.duckdb") as store:
        report = import_yntp(store, tmp_path / "d")
        assert report.ok
        sid = report.imported[0].session_id
        assert store.load_turns(sid)[0].response == "line one\nline two red"
        assert store.get_session(sid).language == "zh"  # type: ignore[union-attr]


def test_utf8_bom_is_accepted(tmp_path: Path) -> None:
    _write(tmp_path / "d" / "jp" / "jp_1.json", b"\xef\xbb\xbf" + json.dumps(_good_doc()).encode())
    with Store(tmp_path / "s.duckdb") as store:
        report = import_yntp(store, tmp_path / "d")
        assert report.ok and report.imported[0].language == "ja" and report.imported[0].turns == 10


# -- malformed files -----------------------------------------------------------------------------
def _bad_turn_field() -> str:
    doc = _good_doc()
    doc["day_2"][1]["response"] = 42  # type: ignore[assignment]
    return json.dumps(doc)


def _missing_field() -> str:
    doc = _good_doc()
    del doc["day_4"][0]["speaker"]
    return json.dumps(doc)


def _turn_not_object() -> str:
    doc = _good_doc()
    doc["day_1"][1] = "hello"  # type: ignore[call-overload]
    return json.dumps(doc)


def _missing_day() -> str:
    doc = _good_doc()
    del doc["day_5"]
    return json.dumps(doc)


def _day_not_list() -> str:
    doc = _good_doc()
    doc["day_3"] = {"speaker": "DaVinci"}  # type: ignore[assignment]
    return json.dumps(doc)


def _unexpected() -> str:
    doc: dict[str, object] = dict(_good_doc())
    doc["notes"] = "x"
    doc["day_1"][0]["mood"] = "happy"  # type: ignore[index]
    return json.dumps(doc)


BAD_FILES: dict[str, tuple[str | bytes, list[str]]] = {
    "en/en_3.json": (_bad_turn_field(), ["$.day_2[1].response: expected a string, got a number"]),
    "en/en_4.json": (b'{"day_1": ["caf\xe9"]}', ["not valid UTF-8 (byte 0xe9 at offset 15)"]),
    "en/en_5.json": ('{\n  "day_1": [\n    {"speaker": "DaVinci",,}\n', ["not JSON: Expecting property name enclosed in double quotes at line 3, column 27"]),
    "cn/cn_2.json": (_missing_day(), ["$.day_5: missing"]),
    "cn/cn_3.json": (_turn_not_object(), ["$.day_1[1]: expected an object with speaker, message and response, got a string"]),
    "jp/jp_2.json": (_missing_field(), ["$.day_4[0].speaker: missing"]),
    "jp/jp_3.json": ("[1, 2]", ["$: expected an object with keys day_1 … day_5, got a list"]),
    "jp/jp_4.json": (_day_not_list(), ["$.day_3: expected a list of turns, got an object"]),
    "jp/jp_5.json": (
        _unexpected(),
        ["$.notes: unexpected key (expected day_1 … day_5)", "$.day_1[0].mood: unexpected field (expected speaker, message, response)"],
    ),
    "jp/jp_6.json": ('{"day_1": [], "day_1": []}', ["$.day_1: duplicate key"]),
    "kr/kr_1.json": (json.dumps(_good_doc()), ["unknown language folder 'kr' (expected cn, en, jp)"]),
}  # fmt: skip


def test_malformed_files_are_reported_and_good_files_import(tmp_path: Path) -> None:
    root = tmp_path / "mixed"
    for rel, (content, _) in BAD_FILES.items():
        _write(root / rel, content)
    good = ["en/en_1.json", "cn/cn_1.json", "jp/jp_1.json"]
    for rel in good:
        _write(root / rel, json.dumps(_good_doc(rel)))
    _write(root / "README.md", "not a data file")
    with Store(tmp_path / "s.duckdb") as store:
        report = import_yntp(store, root)
        assert sorted(f.file for f in report.imported) == sorted(good)
        failed = {f.file: f.errors for f in report.failed}
        assert failed == {rel: errors for rel, (_, errors) in BAD_FILES.items()}
        assert "en/en_3.json: $.day_2[1].response: expected a string, got a number" in report.error_lines()
        # a bad file imports nothing of itself
        assert {s.origin for s in store.list_sessions()} == set(good)
        assert store.fetchone("SELECT count(*) FROM turns") == (30,)
        assert not report.ok


def test_many_problems_in_one_file_are_all_listed(tmp_path: Path) -> None:
    doc = _good_doc()
    doc["day_1"][0]["message"] = None  # type: ignore[assignment]
    doc["day_5"][1]["speaker"] = ["x"]  # type: ignore[assignment]
    _write(tmp_path / "d" / "en" / "en_1.json", json.dumps(doc))
    with Store(tmp_path / "s.duckdb") as store:
        report = import_yntp(store, tmp_path / "d")
    assert report.failed[0].errors == [
        "$.day_1[0].message: expected a string, got null",
        "$.day_5[1].speaker: expected a string, got a list",
    ]


def test_missing_directory_is_an_error(tmp_path: Path) -> None:
    with Store(tmp_path / "s.duckdb") as store:
        with pytest.raises(YntpImportError, match="no such directory"):
            import_yntp(store, tmp_path / "nope")
        (tmp_path / "file.json").write_text("{}")
        with pytest.raises(YntpImportError, match="not a directory"):
            import_yntp(store, tmp_path / "file.json")


def test_copied_dataset_subset_imports_in_natural_order(dataset: Path, tmp_path: Path) -> None:
    root = tmp_path / "subset" / "en"
    root.mkdir(parents=True)
    for n in (10, 2, 1):
        shutil.copy(dataset / "en" / f"en_{n}.json", root / f"en_{n}.json")
    with Store(tmp_path / "s.duckdb") as store:
        report = import_yntp(store, tmp_path / "subset")
    assert [f.file for f in report.imported] == ["en/en_1.json", "en/en_2.json", "en/en_10.json"]


def test_fields_over_the_length_cap_are_cut_and_reported(tmp_path: Path) -> None:
    from sharehouse.textclean import MAX_INPUT_CHARS

    root = tmp_path / "d"
    doc = _good_doc()
    doc["day_2"][1]["message"] = "x" * (MAX_INPUT_CHARS + 1)
    doc["day_5"][0]["response"] = "  " + "y" * MAX_INPUT_CHARS + "  "  # exactly at the cap once trimmed
    doc["day_4"][0]["response"] = "\u0958" * (MAX_INPUT_CHARS // 2 + 1)  # NFC doubles it past the cap
    _write(root / "en" / "en_1.json", json.dumps(doc))
    _write(root / "en" / "en_2.json", json.dumps(_good_doc("b")))
    with Store(tmp_path / "s.duckdb") as store:
        report = import_yntp(store, root)
        assert report.ok
        [cut] = report.truncated_files
        assert cut.file == "en/en_1.json"
        assert cut.truncated == ["$.day_2[1].message", "$.day_4[0].response"]
        assert report.truncated_fields == 2
        assert report.truncation_lines()[0].startswith("en/en_1.json: $.day_2[1].message: longer than 20000")
        turns = {(t.day, t.idx): t for t in store.load_turns(cut.session_id)}
        assert len(turns[(2, 1)].message) == MAX_INPUT_CHARS
        assert len(turns[(5, 0)].response) == MAX_INPUT_CHARS
        assert len(turns[(4, 0)].response) == MAX_INPUT_CHARS
        again = import_yntp(store, root)  # unchanged: skipped, and the cut is still reported
        assert [f.file for f in again.skipped] == ["en/en_1.json", "en/en_2.json"]
        assert again.truncated_fields == 2
