"""``evaluate`` against a failing API: every user ends ok or failed with its error, each prediction
is stored once, and rerunning the same run id fills in exactly what is missing."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

from faultserver import FaultConfig, FaultServer

from sharehouse.io import import_yntp
from sharehouse.store import Store
from sharehouse.store.evaluation import load_predictions, load_user_status
from sharehouse.store.integrity import check_integrity

FILES = ["en/en_1.json", "en/en_2.json", "cn/cn_1.json", "cn/cn_2.json", "jp/jp_1.json", "jp/jp_2.json"]
MAX_TESTS = 3
# No "timeout" here: the evaluator uses the model's own 60 s API timeout, too slow for a test.
# A first run at a 70 % fault rate (so that some predictions fail after every retry), then reruns at 20 %.
HEAVY = {"429": 0.14, "500": 0.14, "drop": 0.14, "malformed": 0.14, "truncated": 0.14}
RATES = {name: 0.04 for name in HEAVY}


async def test_evaluate_under_faults_then_resume(tmp_path: Path, yntp_dir: Path) -> None:
    from evaluator.request import EvalOptions
    from evaluator.runner import EvalParams, run_evaluation_async
    from evaluator.task import build_tasks

    data = tmp_path / "data"
    for rel in FILES:
        (data / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(yntp_dir / rel, data / rel)
    cfg = FaultConfig(rates=HEAVY, retry_after_s=0.02, seed=5, lifetime_s=280)
    with FaultServer(cfg) as srv, Store(tmp_path / "eval.duckdb") as store:
        assert import_yntp(store, data).ok
        tasks, skipped = build_tasks(store, source="yntp100", max_tests=MAX_TESTS)
        assert len(tasks) == len(FILES) and not skipped
        expected = {(t.session_id, item.day, item.idx) for t in tasks for item in t.tests}
        params = EvalParams(api_base=srv.api_base, score=False, max_tokens=40)

        async def run(run_id: str | None) -> str:
            options = EvalOptions(
                methods=["zero-shot"], models=["openai/fake"], params=params, concurrency=3, run_id=run_id
            )
            return await run_evaluation_async(store, tasks, options)

        run_id = await run(None)
        assert srv.faults_served() > 0
        first = load_predictions(store, run_id)
        failed = [s for s in load_user_status(store, run_id) if s.status == "failed"]
        assert len(first) < len(expected) and failed, "the heavy first run lost nothing: no resume to test"
        srv.set_rates(RATES)
        for _ in range(4):
            preds = load_predictions(store, run_id)
            keys = Counter((p.session_id, p.day, p.idx) for p in preds)
            assert all(n == 1 for n in keys.values()), "a prediction was stored twice"
            assert set(keys) <= expected
            statuses = load_user_status(store, run_id)
            for st in statuses:
                assert st.status in ("ok", "failed")
                if st.status == "failed":
                    assert st.error, "a failed user without its error"
            if set(keys) == expected:
                break
            await run(run_id)  # the same run id: only what is missing is predicted
        else:
            raise AssertionError(f"still missing after reruns: {sorted(expected - set(keys))}")
        assert len(load_predictions(store, run_id)) == len(expected)
        assert all(p.prediction.strip() for p in load_predictions(store, run_id))
        assert check_integrity(store) == []
