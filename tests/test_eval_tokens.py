"""The M3/M5 token option of an evaluation run: recorded in the run config, and a run scored
with other tokens has its scores dropped so that every prediction is scored again."""

from __future__ import annotations

from pathlib import Path

from evaluator.request import EvalOptions
from evaluator.runner import EvalParams, _run_config, drop_scores_of_other_tokens
from evaluator.scoring import MetricOptions
from sharehouse.store import Store
from sharehouse.store.evaluation import (
    PredictionRecord,
    ScoreRecord,
    insert_prediction,
    load_predictions,
    put_scores,
)

RUN = "ev-tokens"


def _seed(store: Store) -> None:
    store.upsert_run(RUN, "evaluate", {"methods": ["zero-shot"], "models": ["local:small"]})
    insert_prediction(
        store,
        PredictionRecord(eval_run=RUN, method="zero-shot", model="local:small", user_id="cn_1", language="zh",
                         session_id="s1", day=5, idx=0, npc="Leo", message="m", reference="好的",
                         prediction="ok then", raw="ok then", prompt_sha256="ab" * 32),
    )  # fmt: skip
    put_scores(
        store,
        [ScoreRecord(eval_run=RUN, method="zero-shot", model="local:small", session_id="s1", day=5, idx=0,
                     m1=0.5, m2=0.5, m3=0.1, m4=0.5, m5=0.7, m6=0.5, m2_encoder="x", m4_unit="chars",
                     m6_encoder="y", m1_vectors="v")],
    )  # fmt: skip


def _stale(store: Store) -> int:
    variant = {
        "m1_vectors": "v",
        "m2_encoder": "x",
        "m4_unit": "chars",
        "m6_encoder": "y",
        "judge_model": None,
    }
    return len(load_predictions(store, RUN, stale_for=variant))


def test_other_tokens_drop_the_runs_scores(tmp_path: Path) -> None:
    with Store(tmp_path / "t.duckdb") as store:
        _seed(store)
        assert _stale(store) == 0
        same = {"metric_options": {"tokens": "reference"}}
        assert drop_scores_of_other_tokens(store, RUN, same, MetricOptions()) == 0
        assert _stale(store) == 0
        # a run recorded before the option had whitespace-free tokens: the default rescores it
        assert drop_scores_of_other_tokens(store, RUN, {"metric_options": {}}, MetricOptions()) == 1
        assert _stale(store) == 1 and len(load_predictions(store, RUN)) == 1  # the prediction stays
        put_scores(
            store,
            [ScoreRecord(eval_run=RUN, method="zero-shot", model="local:small", session_id="s1", day=5, idx=0,
                         m1=0.5, m5=0.4, m1_vectors="v", m2_encoder="x", m4_unit="chars", m6_encoder="y")],
        )  # fmt: skip
        assert drop_scores_of_other_tokens(store, RUN, same, MetricOptions(tokens="no-whitespace")) == 1
        assert _stale(store) == 1


def test_run_config_records_the_tokens() -> None:
    for mode in ("reference", "no-whitespace"):
        params = EvalParams(metric_options=MetricOptions(tokens=mode))
        config = _run_config([], EvalOptions(methods=["zero-shot"], models=["local:small"], params=params))
        assert config["metric_options"]["tokens"] == mode
    assert MetricOptions().tokens == "reference"
