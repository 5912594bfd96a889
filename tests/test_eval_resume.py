"""A killed evaluation resumes without recomputing finished predictions (real model, SIGKILL)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from evaluator.request import EvalOptions
from evaluator.runner import EvalParams, run_evaluation
from evaluator.task import build_tasks
from sharehouse.io import import_yntp
from sharehouse.store import Store
from sharehouse.store.evaluation import load_predictions

pytestmark = pytest.mark.model

REPO = Path(__file__).resolve().parents[1]
RUN = "ev-killed"
PARAMS = {"max_tokens": 24, "score": False}

CHILD = textwrap.dedent(
    """
    import json, sys
    from evaluator.request import EvalOptions, EvalParams
    from evaluator.runner import run_evaluation
    from evaluator.task import build_tasks
    from sharehouse.store import Store

    store = Store(sys.argv[1])
    tasks, _ = build_tasks(store, source="yntp100", max_tests=2)

    def hook(event):
        print("EVENT " + json.dumps({"kind": event.kind, **event.data()}, default=str), flush=True)

    options = EvalOptions(methods=["zero-shot"], models=["local:small"], seed=0,
                          params=EvalParams(**json.loads(sys.argv[2])), run_id=sys.argv[3])
    run_evaluation(store, tasks, options, on_event=hook)
    print("DONE", flush=True)
    """
)


def _wait_for_prediction(proc: subprocess.Popen[str], timeout_s: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            if proc.poll() is not None:
                raise AssertionError(f"the child ended early (code {proc.returncode})")
            continue
        if line.startswith("EVENT "):
            event = json.loads(line[len("EVENT ") :])
            if event["kind"] == "predicted":
                return event
        assert not line.startswith("DONE"), "the child finished before it could be killed"
    raise AssertionError("no prediction within the time limit")


def test_killed_run_resumes_without_recomputing(tmp_path: Path, yntp_dir: Path, small_model: Any) -> None:
    (tmp_path / "data" / "en").mkdir(parents=True)
    for name in ("en_1.json", "en_2.json"):
        shutil.copy(yntp_dir / "en" / name, tmp_path / "data" / "en" / name)
    db = tmp_path / "resume.duckdb"
    with Store(db) as store:
        import_yntp(store, tmp_path / "data")
    script = tmp_path / "child.py"
    script.write_text(CHILD)

    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, str(script), str(db), json.dumps(PARAMS), RUN],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    try:
        _wait_for_prediction(proc, timeout_s=300)
        os.kill(proc.pid, signal.SIGKILL)  # mid-run: at least one more prediction was pending
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL

    with Store(db) as store:
        before = {(p.session_id, p.idx): p for p in load_predictions(store, RUN)}
        assert 1 <= len(before) < 4
        assert store.get_run(RUN)["status"] == "running"

        tasks, _ = build_tasks(store, source="yntp100", max_tests=2)
        events: list[tuple[str, dict[str, Any]]] = []
        run_evaluation(
            store, tasks,
            EvalOptions(methods=["zero-shot"], models=["local:small"], seed=0, params=EvalParams(**PARAMS), run_id=RUN),
            on_event=lambda e: events.append((e.kind, e.data())),
        )  # fmt: skip
        after = {(p.session_id, p.idx): p for p in load_predictions(store, RUN)}
        assert len(after) == 4
        predicted = {(d["session_id"], d["idx"]) for k, d in events if k == "predicted"}
        skipped = {(d["session_id"], d["idx"]) for k, d in events if k == "skipped"}
        assert skipped == set(before)
        assert predicted == set(after) - set(before)
        for key, old in before.items():  # untouched: same row, same time, same text
            assert after[key].created_at == old.created_at
            assert after[key].raw == old.raw
        assert store.get_run(RUN)["status"] == "complete"


def test_resume_records_a_status_lost_after_the_last_prediction(
    tmp_path: Path, yntp_dir: Path, small_model: Any
) -> None:
    """Killed after a user's last prediction but before its status row: the resume writes the
    status without predicting again."""
    from sharehouse.store.evaluation import load_user_status

    (tmp_path / "data" / "en").mkdir(parents=True)
    shutil.copy(yntp_dir / "en" / "en_1.json", tmp_path / "data" / "en" / "en_1.json")
    with Store(tmp_path / "s.duckdb") as store:
        import_yntp(store, tmp_path / "data")
        tasks, _ = build_tasks(store, source="yntp100", max_tests=1)
        options = EvalOptions(
            methods=["zero-shot"],
            models=["local:small"],
            seed=0,
            params=EvalParams(**PARAMS),
            run_id="ev-status",
        )
        run_evaluation(store, tasks, options)
        assert [s.status for s in load_user_status(store, "ev-status")] == ["ok"]
        store.execute("DELETE FROM eval_users WHERE eval_run = 'ev-status'")  # the lost write
        events: list[str] = []
        run_evaluation(store, tasks, options, on_event=lambda e: events.append(e.kind))
        assert "predicted" not in events and "skipped" in events
        (status,) = load_user_status(store, "ev-status")
        assert status.status == "ok" and "recorded on resume" in status.fit_info["note"]
