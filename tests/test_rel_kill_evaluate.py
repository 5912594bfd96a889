"""SIGKILL of ``sharehouse evaluate``. The command runs as a subprocess against the
fault-injecting server on 127.0.0.1 and is killed three times, each while the server holds its
model request at a seeded count (never after a sleep, which a fast run could outlast: nothing left
to kill or resume). After each kill the store passes the integrity check, the run has stored more
predictions than before and not all of them, and every prediction stored before the kill is kept
as it was. The same run id then resumes to the end. Each prediction is stored once, and the set of
prediction keys is the set an uninterrupted run of the same evaluation produces."""

from __future__ import annotations

import random
import shutil
import subprocess
from pathlib import Path

from faultserver import FaultConfig, FaultServer, cli_env, kill_at_request, sharehouse_argv

from evaluator.request import EvalOptions
from evaluator.runner import EvalParams, run_evaluation
from evaluator.task import build_tasks
from sharehouse.io import import_yntp
from sharehouse.store import Store
from sharehouse.store.integrity import check_integrity

FILES = ["en/en_1.json", "en/en_2.json", "cn/cn_1.json", "jp/jp_1.json"]
RUN = "ev-kill"
METHODS = "zero-shot,few-shot+style"
LIMIT_TURNS = 3
# Each kill lands while the run's n-th model request is held, n drawn from KILL_AT. One request per
# prediction, at most two in flight (--concurrency 2), and a prediction is stored before the next
# request of its user: from the third request on, at least one prediction of this run is stored.
# Three kills at most six requests in each store at most 18 of the 24 predictions: some are left.
# (The server's seeded faults come later: its first 35 requests are answered.)
KILL_AT = (3, 6)


def _cmd(db: Path, api_base: str, run: str) -> list[str]:
    return sharehouse_argv(
        "evaluate", "--db", str(db), "--methods", METHODS, "--models", "openai/fake", "--api-base", api_base,
        "--source", "yntp100", "--limit-turns", str(LIMIT_TURNS), "--run", run, "--no-score", "--no-progress",
        "--concurrency", "2", "--max-tokens", "40",
    )  # fmt: skip


def _predictions(db: Path, run: str) -> dict[tuple, tuple]:
    """Prediction key (without the run) -> (raw text, created_at); asserts no key is stored twice."""
    with Store(db, read_only=True) as store:
        assert check_integrity(store) == []
        rows = store.fetchall(
            "SELECT method, model, session_id, day, idx, raw, created_at FROM eval_predictions WHERE eval_run = ?",
            [run],
        )
    keys = [r[:5] for r in rows]
    assert len(keys) == len(set(keys)), "a prediction was stored twice"
    return {r[:5]: (r[5], r[6]) for r in rows}


def _dataset(tmp_path: Path, yntp_dir: Path, name: str) -> Path:
    data = tmp_path / "data"
    for rel in FILES:
        if not (data / rel).exists():
            (data / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(yntp_dir / rel, data / rel)
    db = tmp_path / name
    with Store(db) as store:
        assert import_yntp(store, data).ok
    return db


def test_sigkill_of_evaluate_then_resume(tmp_path: Path, yntp_dir: Path) -> None:
    db = _dataset(tmp_path, yntp_dir, "killed.duckdb")
    reference_db = _dataset(tmp_path, yntp_dir, "whole.duckdb")
    expected_n = len(FILES) * LIMIT_TURNS * len(METHODS.split(","))
    rng = random.Random(31)
    cfg = FaultConfig(rates={"429": 0.04, "500": 0.04}, latency_s=0.12, retry_after_s=0.05, lifetime_s=400)
    kills = 0
    with FaultServer(cfg) as srv:
        kept: dict[tuple, tuple] = {}
        for _ in range(3):
            proc = subprocess.Popen(
                _cmd(db, srv.api_base, RUN),
                env=cli_env(),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            kills += kill_at_request(proc, srv, rng.randint(*KILL_AT))
            proc.wait(timeout=30)
            now = _predictions(db, RUN)
            assert {k: now[k] for k in kept} == kept, (
                "a prediction stored before the kill was lost or changed"
            )
            assert len(kept) < len(now) < expected_n, f"{len(kept)} -> {len(now)} of {expected_n} predictions"
            kept = now
        assert kills == 3, "the evaluation ended before it could be killed"
        assert len(kept) < expected_n, "nothing was left to resume"
        done = subprocess.run(
            _cmd(db, srv.api_base, RUN), env=cli_env(), capture_output=True, text=True, timeout=240
        )
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        assert "Traceback" not in done.stderr
        # The same evaluation, uninterrupted (in this process: the command's code path without the CLI).
        with Store(reference_db) as store:
            tasks, _ = build_tasks(store, source="yntp100", max_tests=LIMIT_TURNS)
            options = EvalOptions(
                methods=METHODS.split(","), models=["openai/fake"], seed=0, concurrency=2, run_id="ev-whole",
                params=EvalParams(api_base=srv.api_base, score=False, max_tokens=40),
            )  # fmt: skip
            run_evaluation(store, tasks, options)

    final = _predictions(db, RUN)
    assert {k: final[k] for k in kept} == kept
    assert set(final) == set(_predictions(reference_db, "ev-whole"))
    assert len(final) == expected_n
    with Store(db, read_only=True) as store:
        assert store.get_run(RUN)["status"] == "complete"
        statuses = store.fetchall(
            "SELECT status, count(*) FROM eval_users WHERE eval_run = ? GROUP BY 1", [RUN]
        )
    assert statuses == [("ok", len(FILES) * len(METHODS.split(",")))]
