"""Generated sessions (any unicode: newlines, emoji, CJK, quotes, decomposed forms) survive every
export format. Replies are stored as the engine and the importer store typed text (sanitised); NPC
lines as the engine stores model output (cleaned, then :func:`stored_line`), from raw text that is
often not in NFC."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pyarrow.parquet as pq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sharehouse.engine.session import stored_line
from sharehouse.io import export_sessions, import_yntp
from sharehouse.store import SessionRecord, Store, TurnRecord
from sharehouse.store.bulk import insert_turns
from sharehouse.textclean import clean_generated, sanitize_input

_SPICE = st.sampled_from(
    [
        "\n",
        "\n\n",
        '"',
        "'",
        "“”",
        "「」",
        "\\",
        "😀",
        "👨‍👩‍👧",
        "🇯🇵",
        "日本語",
        "中文",
        "ｶﾀｶﾅ",
        "\u2028",
        "\t",
        "{}",
        "[]",
        "null",
    ]
)
# Sequences that NFC normalisation changes: combining marks, singletons, Hangul jamo, dakuten.
_DECOMPOSED = st.sampled_from(
    [
        "e\u0301",
        "A\u030a",
        "\u212b",
        "\u2126",
        "か\u3099",
        "\u1100\u1161\u11a8",
        "n\u0303",
        "\u0958",
        "\u0301",
    ]
)
_RAW = st.lists(st.one_of(st.text(max_size=12), _SPICE, _DECOMPOSED), max_size=6).map("".join)
_TEXT = _RAW.map(sanitize_input)
_NPC_LINE = _RAW.map(lambda raw: stored_line(clean_generated(raw)))
_USER = st.text(min_size=1, max_size=15)
_LANG = st.sampled_from(["en", "ja", "zh"])
_DAY_TURNS = st.lists(
    st.tuples(st.sampled_from(["DaVinci", "Donatello", "ミケ", "拉斐尔"]), _NPC_LINE, _TEXT), max_size=3
)
_SESSION = st.tuples(_USER, _LANG, st.lists(_DAY_TURNS, min_size=5, max_size=5))

Key = tuple[int, int, str, str, str]


def _fill(
    store: Store, sessions: list[tuple[str, str, list[list[tuple[str, str, str]]]]]
) -> dict[str, list[Key]]:
    expected: dict[str, list[Key]] = {}
    for n, (user, lang, days) in enumerate(sessions):
        sid = f"gen-{n}"
        store.create_session(
            SessionRecord(id=sid, kind="human", source="gen", user_id=user, language=lang, status="complete")
        )
        turns = [
            TurnRecord(session_id=sid, day=d, idx=i, npc=npc, message=m, response=r)
            for d, day in enumerate(days, start=1)
            for i, (npc, m, r) in enumerate(day)
        ]
        insert_turns(store, turns)
        expected[sid] = [(t.day, t.idx, t.npc, t.message, t.response) for t in turns]
    return expected


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sessions=st.lists(_SESSION, min_size=1, max_size=3))
def test_generated_sessions_round_trip_every_format(
    sessions: list[tuple[str, str, list[list[tuple[str, str, str]]]]],
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        with Store(root / "src.duckdb") as store:
            expected = _fill(store, sessions)
            users = {f"gen-{n}": s[0] for n, s in enumerate(sessions)}

            export_sessions(store, root / "t.jsonl", "jsonl")
            lines = (root / "t.jsonl").read_text(encoding="utf-8").split("\n")
            assert lines[-1] == ""
            rows = [json.loads(line) for line in lines[:-1]]
            _check_rows(rows, expected, users)

            export_sessions(store, root / "t.parquet", "parquet")
            _check_rows(pq.read_table(root / "t.parquet").to_pylist(), expected, users)

            export_sessions(store, root / "y", "yntp")
        with Store(root / "back.duckdb") as back:
            report = import_yntp(back, root / "y", source="gen")
            assert report.ok, report.error_lines()
            got = sorted(
                [(t.day, t.idx, t.npc, t.message, t.response) for t in back.load_turns(s.id)]
                for s in back.list_sessions()
            )
            assert got == sorted(expected.values())


def _check_rows(rows: list[dict[str, object]], expected: dict[str, list[Key]], users: dict[str, str]) -> None:
    got: dict[str, list[Key]] = {sid: [] for sid in expected}
    for r in rows:
        got[str(r["session_id"])].append(
            (int(r["day"]), int(r["idx"]), str(r["npc"]), str(r["message"]), str(r["response"]))  # type: ignore[call-overload]
        )
        assert r["user_id"] == users[str(r["session_id"])]
        assert r["split"] == ("test" if r["day"] == 5 else "train")
    assert got == expected


def test_decomposed_text_is_generated_and_normalised() -> None:
    import unicodedata

    raw = "Cafe\u0301 at \u212bngstro\u0308m? \u304b\u3099"
    assert not unicodedata.is_normalized("NFC", raw)
    line = stored_line(clean_generated(raw))
    assert unicodedata.is_normalized("NFC", line) and line == sanitize_input(line)
