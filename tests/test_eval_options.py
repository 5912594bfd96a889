"""Run options of ``evaluate`` through the real runner on one YNTP-100 user and the real 0.5B model:
several seeds as separate predictions, top-p, other metric options rescoring a stored run, the LLM
judge, and the model loaded only once and only when a method calls it."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from evaluator.cli_evaluate import judge_rows, print_judge_table
from evaluator.request import EvalOptions
from evaluator.runner import EvalParams, run_evaluation
from evaluator.scoring import MetricOptions
from evaluator.task import build_tasks
from sharehouse.io import import_yntp
from sharehouse.store import Store
from sharehouse.store.evaluation import load_predictions, load_scored_turns, load_user_status

pytestmark = pytest.mark.model

RUN = "ev-options"


@pytest.fixture(scope="module")
def one_user(tmp_path_factory: pytest.TempPathFactory, yntp_dir: Path, small_model: Any):
    tmp = tmp_path_factory.mktemp("opts")
    (tmp / "data" / "en").mkdir(parents=True)
    shutil.copy(yntp_dir / "en" / "en_3.json", tmp / "data" / "en" / "en_3.json")
    store = Store(tmp / "opts.duckdb")
    import_yntp(store, tmp / "data")
    tasks, _ = build_tasks(store, source="yntp100", max_tests=1)
    assert len(tasks) == 1
    yield store, tasks
    store.close()


def _run(store: Store, tasks: list, **params: Any) -> list[tuple[str, dict[str, Any]]]:
    events: list[tuple[str, dict[str, Any]]] = []
    run_evaluation(
        store, tasks,
        EvalOptions(methods=["zero-shot"], models=["local:small"], seeds=[0, 1],
                    params=EvalParams(max_tokens=8, top_p=0.8, **params), run_id=RUN),
        on_event=lambda e: events.append((e.kind, e.data())),
    )  # fmt: skip
    return events


def test_seeds_top_p_rescoring_and_judge(one_user) -> None:  # noqa: ANN001
    store, tasks = one_user
    events = _run(store, tasks)
    preds = load_predictions(store, RUN)
    assert sorted(p.seed for p in preds) == [0, 1]  # one prediction per seed of the same turn
    assert all(p.params["top_p"] == 0.8 and p.params["seed"] == p.seed for p in preds)
    assert [k for k, _ in events].count("model_loaded") == 1
    assert sorted(s.seed for s in load_user_status(store, RUN)) == [0, 1]
    first = {r["seed"]: r for r in load_scored_turns(store, RUN)}
    assert set(first) == {0, 1} and all(
        r["m4_unit"] == "chars" and r["judge_model"] is None for r in first.values()
    )
    config = store.get_run(RUN)["config"]
    assert config["seeds"] == [0, 1] and config["params"]["top_p"] == 0.8
    assert config["scored_with"]["metric_options"]["length_unit"] == "chars"

    # The same run with another M4 unit: nothing is predicted again, but every score is recomputed.
    events = _run(store, tasks, metric_options=MetricOptions(length_unit="tokens"))
    assert [k for k, _ in events].count("skipped") == 2 and "predicted" not in [k for k, _ in events]
    assert "model_loaded" not in [k for k, _ in events]  # no method called the model
    again = {r["seed"]: r for r in load_scored_turns(store, RUN)}
    assert all(r["m4_unit"] == "tokens" for r in again.values())
    config = store.get_run(RUN)["config"]
    assert config["metric_options"]["length_unit"] == "tokens"
    assert config["scored_with"]["metric_options"]["length_unit"] == "tokens"

    # With a judge: the judge rates each stored prediction; its ratings are shown in their own table.
    events = _run(store, tasks, metric_options=MetricOptions(length_unit="tokens"), judge="local:small")
    assert ("model_loaded", {"model": "local:small", "role": "judge"}) in events
    judged = load_scored_turns(store, RUN)
    assert all(r["judge_model"] == "local:small" for r in judged)
    ratings = [r["judge_content"] for r in judged] + [r["judge_style"] for r in judged]
    assert all(v is None or 1 <= v <= 5 for v in ratings) and any(v is not None for v in ratings)
    (row,) = judge_rows(store, RUN)
    assert row["method"] == "zero-shot" and row["users"] == 1 and row["judge"] == "local:small"
    console = Console(width=200, record=True)
    print_judge_table(console, store, RUN)
    assert "LLM judge (local:small)" in console.export_text()
    assert store.get_run(RUN)["config"]["params"]["judge"] == "local:small"
