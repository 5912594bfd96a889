"""The core CLI commands through typer's runner: scenario validate, sessions, doctor, report realism."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from sharehouse.cli import _build
from sharehouse.scenario import default_scenario_path
from sharehouse.store import Position, SessionRecord, Store, TurnRecord

runner = CliRunner()


def _db_with_session(path: Path) -> None:
    with Store(path) as s:
        s.create_session(
            SessionRecord(id="s-cli", kind="simulated", source="simulate", user_id="p-en-001", language="en",
                          run_id="r1", persona_id="p-en-001", position_day=1, position_state="x")
        )  # fmt: skip
        for i, reply in enumerate(
            ["sure thing, a trip first", "labels on every shelf!!", "hmm, blue walls maybe"]
        ):
            s.append_turn(
                TurnRecord(session_id="s-cli", day=1 + i, idx=0, npc="Leo", message=f"question {i}?", response=reply,
                           verdict="advance", mbti="E/I"),
                Position(day=1 + i, state="x"),
            )  # fmt: skip


def test_scenario_validate_ok_and_errors(tmp_path: Path) -> None:
    app = _build()
    ok = runner.invoke(app, ["scenario", "validate", str(default_scenario_path())])
    assert ok.exit_code == 0 and "ok" in ok.output
    data = json.loads(default_scenario_path().read_text())
    data["days"][1]["states"][0]["npc"] = "nobody"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data))
    res = runner.invoke(app, ["scenario", "validate", str(bad)])
    assert res.exit_code == 1
    assert "bad.json" in res.output and "$.days[1].states[0].npc" in res.output


def test_sessions_list_and_show(tmp_path: Path) -> None:
    db = tmp_path / "c.duckdb"
    _db_with_session(db)
    app = _build()
    res = runner.invoke(app, ["sessions", "list", "--db", str(db)])
    assert res.exit_code == 0 and "s-cli" in res.output
    res = runner.invoke(app, ["sessions", "show", "s-c", "--db", str(db)])
    assert res.exit_code == 0
    assert "Day 1" in res.output and "labels on every shelf" in res.output
    missing = runner.invoke(app, ["sessions", "show", "nope", "--db", str(db)])
    assert missing.exit_code == 1 and "no session" in missing.output


def test_doctor_checks_the_database(tmp_path: Path) -> None:
    db = tmp_path / "c.duckdb"
    _db_with_session(db)
    res = runner.invoke(_build(), ["doctor", "--no-load", "--db", str(db)])
    assert "integrity: no orphan" in res.output
    assert "llama-cpp-python" in res.output


def test_report_realism_against_real_people(tmp_path: Path, yntp_dir: Path) -> None:
    db = tmp_path / "c.duckdb"
    _db_with_session(db)
    plot = tmp_path / "r.png"
    res = runner.invoke(
        _build(),
        ["report", "realism", "--db", str(db), "--yntp", str(yntp_dir), "--plot", str(plot), "--run", "r1"],
    )
    assert res.exit_code == 0, res.output
    assert plot.exists() and plot.stat().st_size > 1000
    empty = runner.invoke(
        _build(), ["report", "realism", "--db", str(db), "--yntp", str(yntp_dir), "--run", "zzz"]
    )
    assert empty.exit_code == 1 and "no simulated replies" in empty.output


def test_sessions_commands_do_not_create_a_database(tmp_path: Path) -> None:
    app = _build()
    missing = tmp_path / "nothing" / "here.duckdb"
    for args in (["sessions", "list"], ["sessions", "show", "s-x"]):
        res = runner.invoke(app, [*args, "--db", str(missing)])
        assert res.exit_code != 0
        assert "no database at" in res.output and "here.duckdb" in res.output
        assert not missing.exists() and not missing.parent.exists()


def test_sessions_show_marks_fallback_turns(tmp_path: Path) -> None:
    db = tmp_path / "c.duckdb"
    _db_with_session(db)
    with Store(db) as s:
        s.append_turn(
            TurnRecord(session_id="s-cli", day=4, idx=0, npc="Mina", message="Fixed shelves?", response="okay then",
                       verdict="advance", check_by="fallback",
                       check_reason="judge unavailable (LLMError); substantive reply accepted",
                       npc_fallback=True, reply_fallback=True),
        )  # fmt: skip
        s.append_turn(
            TurnRecord(session_id="s-cli", day=4, idx=1, npc="Mina", message="And dates?", response="yes, dates",
                       verdict="advance", check_by="llm", check_reason="prefers dates",
                       npc_fallback=False, reply_fallback=False),
        )  # fmt: skip
    res = runner.invoke(_build(), ["sessions", "show", "s-cli", "--db", str(db)])
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    marked = next(line for line in lines if "↳ reply" in line and "okay then" in line)
    assert "judge unavailable" in marked and "written line" in marked and "canned reply" in marked
    plain = next(line for line in lines if "yes, dates" in line)
    assert "⚠" not in plain
    assert any("check: judge unavailable (LLMError)" in line for line in lines)
    assert any("fallback turns" in line and "of 5 turns" in line for line in lines)


def test_simulate_refuses_an_unknown_housemate_mode(tmp_path: Path) -> None:
    db = tmp_path / "x.duckdb"
    res = runner.invoke(_build(), ["simulate", "--housemates", "chatty", "--personas", "1", "--db", str(db)])
    assert res.exit_code == 2
    assert "--housemates 'chatty': expected one of react, compose" in res.output
    assert not db.exists()  # refused before anything was opened
