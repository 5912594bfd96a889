"""The default-suite variant of the SIGKILL test of ``sharehouse simulate`` (the long one,
``test_rel_simulate.py::test_sigkill_during_simulate_then_resume``, is marked slow): three personas,
one day, killed twice while it talks to the model, then finished by a restart with the same run id,
and checked by ``sharehouse doctor --check-db`` as a command.

Each kill lands at a seeded count of model requests (the fault server holds that request until the
kill), never after a sleep: a run on a fast machine cannot finish before it is killed, and the two
kills together use fewer requests than the run needs, so something is always left to resume."""

from __future__ import annotations

import random
import subprocess
from pathlib import Path

from faultserver import FaultConfig, FaultServer, cli_env, kill_at_request, sharehouse_argv

from sharehouse.scenario import Scenario
from sharehouse.store import Store
from sharehouse.store.integrity import check_integrity

RUN = "kill-fast"
PERSONAS, DAYS = 3, 1
# A turn makes at least two requests (the line and the reply; the check may be decided by a rule) and
# the run has at least PERSONAS × 3 turns: two kills within KILL_WINDOW requests each leave turns.
KILL_WINDOW = 5


def _cmd(db: Path, api_base: str) -> list[str]:
    return sharehouse_argv(
        "simulate", "--db", str(db), "--model", "openai/fake", "--api-base", api_base, "--run", RUN,
        "--personas", str(PERSONAS), "--days", str(DAYS), "--concurrency", "3", "--no-progress",
    )  # fmt: skip


def test_sigkill_of_simulate_then_resume_fast(tmp_path: Path, scenario: Scenario) -> None:
    db = tmp_path / "killed.duckdb"
    rng = random.Random(23)
    # Slow answers and a few faults, so that a kill lands between requests and inside retries.
    cfg = FaultConfig(rates={"429": 0.05, "500": 0.05}, latency_s=0.08, retry_after_s=0.05, lifetime_s=200)
    kills = 0
    with FaultServer(cfg) as srv:
        for _ in range(2):
            proc = subprocess.Popen(
                _cmd(db, srv.api_base), env=cli_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            # inside a retry or between two sessions' requests, at a seeded request count
            kills += kill_at_request(proc, srv, rng.randint(1, KILL_WINDOW))
            proc.wait(timeout=30)
            with Store(db, read_only=True) as store:
                assert check_integrity(store) == []
        assert kills == 2, "the run ended before it could be killed"
        with Store(db, read_only=True) as store:
            played_before = store.fetchone("SELECT count(*) FROM turns")[0]
        assert played_before < PERSONAS * 3, "nothing was left to resume"
        done = subprocess.run(
            _cmd(db, srv.api_base), env=cli_env(), capture_output=True, text=True, timeout=180
        )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "Traceback" not in done.stderr

    doctor = subprocess.run(
        sharehouse_argv("doctor", "--db", str(db), "--check-db", "--no-load"),
        env=cli_env(), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert doctor.returncode == 0, doctor.stdout[-3000:]
    assert "integrity: no orphan or duplicate rows; every session's turns in order" in doctor.stdout
    expected = [(d, s.id) for d, s in scenario.ordered_states() if d <= DAYS]
    with Store(db, read_only=True) as store:
        sessions = store.list_sessions(run_id=RUN)
        assert len(sessions) == PERSONAS  # one session per persona, whatever the kills
        for rec in sessions:
            # every question answered (or its follow-ups used up) once, in order; follow-ups in between
            # (the fake server's replies are often non-committal or off-topic for the check)
            moved = [
                (t.day, t.state_id) for t in store.load_turns(rec.id) if t.verdict in ("advance", "forced")
            ]
            assert moved == expected
            assert rec.status == "active" and rec.position_day == DAYS + 1 and rec.pending_message is None
