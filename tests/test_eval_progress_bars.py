"""The ``evaluate`` command's progress bars are an observer of the runner's events: fed by a real
run on one YNTP-100 user and the real 0.5B model, and by each kind of failure the runner reports."""

from __future__ import annotations

import io
import shutil
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from evaluator.events import (
    MethodSkipped,
    MethodStarted,
    Predicted,
    PredictionFailed,
    Scored,
    Skipped,
    UserFailed,
)
from evaluator.progress_bars import EvalProgressBars
from evaluator.request import EvalOptions
from evaluator.runner import EvalParams, run_evaluation
from evaluator.task import build_tasks
from sharehouse.io import import_yntp
from sharehouse.store import Store


def _console() -> Console:
    return Console(file=io.StringIO(), width=120, force_terminal=False)


@pytest.mark.model
def test_bars_follow_a_real_run_and_its_resume(tmp_path: Path, yntp_dir: Path, small_model: Any) -> None:
    (tmp_path / "data" / "en").mkdir(parents=True)
    shutil.copy(yntp_dir / "en" / "en_3.json", tmp_path / "data" / "en" / "en_3.json")
    with Store(tmp_path / "bars.duckdb") as store:
        import_yntp(store, tmp_path / "data")
        tasks, _ = build_tasks(store, source="yntp100", max_tests=2)
        options = EvalOptions(
            methods=["zero-shot"], models=["local:small"], seeds=[0, 1],
            params=EvalParams(max_tokens=8), run_id="ev-bars",
        )  # fmt: skip
        kinds: list[str] = []
        for scored in (4, 0):  # the second call resumes: every turn is skipped, nothing left to score
            bars = EvalProgressBars(_console())

            def observe(event: Any, bars: EvalProgressBars = bars) -> None:
                kinds.append(event.kind)
                bars(event)

            with bars:
                run_evaluation(store, tasks, options, on_event=observe)
            (task,) = bars.progress.tasks
            assert task.description == "zero-shot × local:small × 2 seeds"
            assert task.total == 4 and task.completed == 4
            assert task.fields["note"] == f"scored {scored}"
        assert kinds.index("method_started") < kinds.index("predicted") < kinds.index("scoring")
        assert kinds.count("skipped") == 4  # the resumed call


def test_failures_skips_and_flags_are_counted() -> None:
    bars = EvalProgressBars(_console(), enabled=False)
    with bars:
        bars(MethodStarted("few-shot", "m", total=5))
        bars(Skipped("few-shot", "m", 0, session_id="s1", idx=0))
        bars(
            Predicted(
                "few-shot", "m", 0, "u1", "s1", 1, llm_calls=1, cached_calls=0, latency_s=0.1, flagged=True
            )
        )
        bars(PredictionFailed("few-shot", "m", 0, "u1", "timeout"))
        bars(UserFailed("few-shot", "m", 0, "u2", "fit: boom", turns=2))
        bars(Scored("few-shot", "m", predictions=2))
        bars(MethodStarted("lora", "m", total=5))
        bars(MethodSkipped("lora", "m", reason="needs a local model"))
        bars(
            Predicted("other", "m", 0, "u1", "s1", 1, llm_calls=1, cached_calls=0, latency_s=0.1)
        )  # no bar: ignored
    few, lora = bars.progress.tasks
    assert few.completed == 5 and few.fields["note"] == "scored 2, 2 errors"
    assert lora.completed == 5 and "skipped: needs a local model" in lora.fields["note"]
