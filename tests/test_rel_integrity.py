"""The integrity check (``check_integrity`` and ``sharehouse doctor --check-db``) on a real database:
it passes on what the real code writes (simulated sessions with follow-ups, a game played through
the engine, an imported dataset, an evaluation run), and each kind of damage, made with SQL on a
copy of that file, is reported by name, with the doctor exiting 1 and listing the problems."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest
from faultserver import FaultConfig, FaultServer, cli_env, sharehouse_argv
from typer.testing import CliRunner

from sharehouse.engine.session import EngineParams, SessionRunner, start_session
from sharehouse.engine.users import ScriptedUser
from sharehouse.io import import_yntp
from sharehouse.llm import load_model
from sharehouse.llm.retry import RetryPolicy
from sharehouse.scenario import Scenario
from sharehouse.simulate import SimulateOptions, run_simulate
from sharehouse.store import Store
from sharehouse.store.integrity import check_integrity

FILES = ["en/en_1.json", "en/en_2.json", "jp/jp_1.json"]
SIM_RUN = "integ-sim"
EVAL_RUN = "integ-eval"


async def _fill(db: Path, data: Path, scenario: Scenario) -> None:
    # Every third judgement says "not answered": follow-ups and forced moves are in the data.
    cfg = FaultConfig(unanswered=0.35, seed=4, lifetime_s=200)
    with FaultServer(cfg) as srv, Store(db) as store:
        model = load_model("openai/fake", api_base=srv.api_base, retry=RetryPolicy(3, 0.01, 0.05, 0.0))
        opts = SimulateOptions(
            n_personas=3, model="openai/fake", api_base=srv.api_base, concurrency=3, days=2,
            run_id=SIM_RUN, progress=False,
        )  # fmt: skip
        result = await run_simulate(store, opts, npc_model=model)
        assert result.stats.failed == 0
        game = start_session(store, scenario, kind="human", source="play", user_id="mika", language="ja")
        runner = SessionRunner(
            store, scenario, game.id, npc_model=model,
            user=ScriptedUser(["冷蔵庫は棚ごとに名前を書いて分けたいです。"]), params=EngineParams(seed=1),
        )  # fmt: skip
        await runner.run(until_day_end=True)
        assert import_yntp(store, data).ok
        from evaluator.request import EvalOptions
        from evaluator.runner import EvalParams, run_evaluation_async
        from evaluator.task import build_tasks

        tasks, _ = build_tasks(store, source="yntp100", max_tests=2)
        options = EvalOptions(
            methods=["zero-shot"], models=["openai/fake"], params=EvalParams(api_base=srv.api_base, score=False),
            concurrency=2, run_id=EVAL_RUN,
        )  # fmt: skip
        await run_evaluation_async(store, tasks, options)


@pytest.fixture(scope="module")
def clean_db(tmp_path_factory: pytest.TempPathFactory, yntp_dir: Path, scenario: Scenario) -> Path:
    root = tmp_path_factory.mktemp("integrity")
    data = root / "data"
    for rel in FILES:
        (data / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(yntp_dir / rel, data / rel)
    db = root / "clean.duckdb"
    asyncio.run(_fill(db, data, scenario))
    return db


def _copy(clean: Path, tmp_path: Path) -> Path:
    db = tmp_path / "damaged.duckdb"
    shutil.copy(clean, db)
    wal = clean.with_name(clean.name + ".wal")
    if wal.exists():
        shutil.copy(wal, db.with_name(db.name + ".wal"))
    return db


def _sql(db: Path, *statements: str) -> None:
    con = duckdb.connect(str(db))
    try:
        for stmt in statements:
            con.execute(stmt)
    finally:
        con.close()


def _one(db: Path, sql: str) -> tuple:
    con = duckdb.connect(str(db), read_only=True)
    try:
        row = con.execute(sql).fetchone()
    finally:
        con.close()
    assert row is not None, sql
    return row


def _doctor(db: Path) -> tuple[int, str]:
    from sharehouse.cli import _build

    res = CliRunner().invoke(_build(), ["doctor", "--no-load", "--check-db", "--db", str(db)])
    return res.exit_code, res.output


def test_the_real_data_passes(clean_db: Path) -> None:
    with Store(clean_db, read_only=True) as store:
        verdicts = {r[0] for r in store.fetchall("SELECT DISTINCT verdict FROM turns")}
        assert {"advance", "follow_up", "imported"} <= verdicts  # the replay met follow-ups
        assert store.fetchone("SELECT count(*) FROM eval_predictions")[0] == 6
        assert check_integrity(store) == []
    code, out = _doctor(clean_db)
    assert code == 0, out
    assert "integrity: no orphan or duplicate rows; every session's turns in order" in out
    assert "6 predictions" in out


# Each case: what is done to the file, and a phrase of the problem the check must report.
SIM = f"(SELECT id FROM sessions WHERE run_id = '{SIM_RUN}' ORDER BY id LIMIT 1)"
SIM2 = f"(SELECT id FROM sessions WHERE run_id = '{SIM_RUN}' ORDER BY id LIMIT 1 OFFSET 1)"
GAME = "(SELECT id FROM sessions WHERE source = 'play')"
YNTP = "(SELECT id FROM sessions WHERE origin = 'en/en_1.json')"
CASES: dict[str, tuple[list[str], str]] = {
    "orphan turn": (
        [
            "INSERT INTO turns (session_id, day, idx, npc, message, response) VALUES ('ghost', 1, 0, 'N', 'm', 'r')"
        ],
        "turn(s) belong to no session (ghost)",
    ),
    "gap in a day": (
        [f"DELETE FROM turns WHERE session_id = {YNTP} AND day = 2 AND idx = 1"],
        "day 2 turn indexes 0..",
    ),
    "a state answered again after the talk moved on": (
        [
            f"INSERT INTO turns (session_id, day, idx, state_id, npc, message, response, verdict, is_followup) "
            f"SELECT session_id, day, (SELECT count(*) FROM turns x WHERE x.session_id = t.session_id AND x.day = 1), "
            f"state_id, npc, message, response, verdict, is_followup FROM turns t "
            f"WHERE session_id = {SIM} AND day = 1 AND idx = 0"
        ],
        "(out of order, repeated or skipped)",
    ),
    "follow-ups beyond the bound": (
        [
            f"UPDATE turns SET state_id = 'd2_missing', verdict = 'follow_up', is_followup = (idx > 0) "
            f"WHERE session_id = {SIM2} AND day = 2 AND idx <= 2",
            f"DELETE FROM turns WHERE session_id = {SIM2} AND day = 2 AND idx > 2",
        ],
        "follow-up 3 on 'd2_missing', beyond its bound of 2",
    ),
    "days swapped": (
        [
            f"UPDATE turns SET day = CASE day WHEN 1 THEN 2 ELSE 1 END WHERE session_id = {SIM} AND day IN (1, 2)"
        ],
        "but the turns before lead to 'd1_windfall'",
    ),
    "position on an unknown state": (
        [f"UPDATE sessions SET position_state = 'd9_nowhere' WHERE id = {SIM}"],
        "positioned on 'd9_nowhere', not a state of scenario",
    ),
    "position behind the turns": (
        [
            f"UPDATE sessions SET position_day = 1, position_state = 'd1_plan', followups_used = 0 WHERE id = {SIM}"
        ],
        "but its turns lead to day 3 'd3_vision'",
    ),
    "complete with days missing": (
        [
            f"UPDATE sessions SET status = 'complete', position_day = NULL, position_state = NULL WHERE id = {SIM}"
        ],
        "was never answered; no turns on day(s) 3, 4, 5",
    ),
    "the pending line of another housemate": (
        [f"UPDATE sessions SET pending_message = 'Hi?', pending_npc = 'Nobody' WHERE id = {GAME}"],
        "pending line of 'Nobody'",
    ),
    "failed without a reason": (
        [f"UPDATE sessions SET status = 'failed', failure_reason = NULL WHERE id = {SIM}"],
        "failed without a reason",
    ),
    "an evaluated session deleted": (
        [f"DELETE FROM sessions WHERE id = {YNTP}"],
        "row(s) of eval_predictions point at session yntp-",
    ),
    "LLM call log of no session": (
        ["INSERT INTO llm_calls (session_id, day, purpose) VALUES ('ghost-2', 1, 'npc')"],
        "LLM call record(s) belong to no session (ghost-2)",
    ),
    "an evaluation run deleted": (
        [f"DELETE FROM runs WHERE id = '{EVAL_RUN}'"],
        f"row(s) of eval_users belong to evaluation run {EVAL_RUN}, which is not stored",
    ),
    "a prediction for a turn that is not stored": (
        [
            f"UPDATE eval_predictions SET idx = idx + 50 WHERE session_id = {YNTP} AND idx = (SELECT min(idx) FROM eval_predictions WHERE session_id = {YNTP})"
        ],
        "a turn that is not stored",
    ),
    "scores without a prediction": (
        [
            f"INSERT INTO eval_scores (eval_run, method, model, session_id, day, idx, m1) "
            f"SELECT eval_run, method, model, session_id, day, idx + 90, 0.5 FROM eval_predictions "
            f"WHERE session_id = {YNTP} LIMIT 1"
        ],
        "without a prediction",
    ),
    "evaluation rows under a simulate run": (
        [f"UPDATE runs SET kind = 'simulate' WHERE id = '{EVAL_RUN}'"],
        "which is a simulate run, not an evaluation",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_each_kind_of_damage_is_reported(clean_db: Path, tmp_path: Path, case: str) -> None:
    statements, phrase = CASES[case]
    db = _copy(clean_db, tmp_path)
    _sql(db, *statements)
    with Store(db, read_only=True) as store:
        problems = check_integrity(store)
    assert any(phrase in p for p in problems), f"{case}: {problems}"
    code, out = _doctor(db)
    assert code == 1, out
    assert phrase.split(" (")[0][:40] in " ".join(out.split())
    assert f"integrity: {len(problems)} problem(s)" in out


def test_same_state_asked_afresh_twice_without_the_scenario(clean_db: Path, tmp_path: Path) -> None:
    """A session whose scenario is not known here (a custom file) is checked by the scenario-free rules."""
    db = _copy(clean_db, tmp_path)
    _sql(db, f"UPDATE sessions SET scenario_hash = 'a-custom-scenario' WHERE id = {SIM}")
    with Store(db, read_only=True) as store:
        assert check_integrity(store) == []  # the real turns obey those rules too
    count = _one(db, f"SELECT count(*) FROM turns WHERE session_id = {SIM} AND day = 1")[0]
    _sql(
        db,
        f"INSERT INTO turns (session_id, day, idx, state_id, npc, message, response, verdict, is_followup) "
        f"SELECT session_id, day, {count}, state_id, npc, message, response, 'advance', FALSE FROM turns "
        f"WHERE session_id = {SIM} AND day = 1 AND idx = {count - 1}",
    )
    with Store(db, read_only=True) as store:
        problems = check_integrity(store)
    assert any("asked afresh twice in a row" in p for p in problems), problems


def test_doctor_as_a_command_lists_every_problem(clean_db: Path, tmp_path: Path) -> None:
    db = _copy(clean_db, tmp_path)
    apply: list[Callable[[], None]] = [
        lambda: _sql(db, *CASES["orphan turn"][0]),
        lambda: _sql(db, *CASES["scores without a prediction"][0]),
        lambda: _sql(db, *CASES["position on an unknown state"][0]),
    ]
    for step in apply:
        step()
    done = subprocess.run(
        sharehouse_argv("doctor", "--no-load", "--check-db", "--db", str(db)),
        env=cli_env(), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 1, done.stdout[-2000:] + done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    out = " ".join(done.stdout.split())
    for case in ("orphan turn", "scores without a prediction", "position on an unknown state"):
        assert CASES[case][1] in out, (case, out[-3000:])
    assert "integrity: 3 problem(s)" in out
