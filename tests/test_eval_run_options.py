"""The runner's one options object (:class:`evaluator.request.EvalOptions`): a bad value is a clear
error when it is built, and the options a run was made with come back from its stored config."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from evaluator.request import EvalOptions, EvalParams, RunRequest
from evaluator.runner import run_evaluation
from evaluator.scoring import MetricOptions
from sharehouse.store import Store


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"concurrency": 0}, "concurrency", "greater than or equal to 1"),
        ({"methods": []}, "methods", "at least 1 item"),
        ({"models": []}, "models", "at least 1 item"),
        ({"params": {"top_p": 2}}, "params.top_p", "less than or equal to 1"),
        ({"progress": False}, "progress", "Extra inputs are not permitted"),
    ],
)
def test_a_bad_option_names_its_field(changes: dict[str, object], field: str, words: str) -> None:
    with pytest.raises(ValidationError) as info:
        EvalOptions.model_validate({"methods": ["zero-shot"], "models": ["local:small"], **changes})
    (error,) = info.value.errors()
    assert ".".join(str(p) for p in error["loc"]) == field and words in error["msg"]


def test_options_are_frozen_and_share_the_request_defaults() -> None:
    options = EvalOptions()
    with pytest.raises(ValidationError, match="frozen"):
        options.concurrency = 8  # type: ignore[misc]
    request = RunRequest()
    assert (options.methods, options.models, options.seed_list, options.concurrency) == (
        request.methods,
        request.models,
        request.seed_list,
        request.concurrency,
    )
    assert EvalOptions(seed=7, seeds=[2, 1, 2]).seed_list == [2, 1]  # a repeated seed runs once
    assert EvalOptions(seed=7).seed_list == [7]


def test_options_round_trip_through_the_run_config(tmp_path: Path) -> None:
    """No users: the runner records the run and finishes without loading a model; the request
    rebuilt from the stored config gives back the same options."""
    options = EvalOptions(
        methods=["zero-shot", "few-shot"], models=["local:small", "openai/gpt-4o-mini"], seed=3, seeds=[3, 4],
        params=EvalParams(protocol="paper", max_tokens=33, extra={"k": 2},
                          metric_options=MetricOptions(length_unit="tokens")),
        concurrency=2, run_id="ev-opts",
        selection={"source": "test", "languages": ["en"], "users": None, "limit_users": 2, "limit_turns": 1},
    )  # fmt: skip
    with Store(tmp_path / "o.duckdb") as store:
        assert run_evaluation(store, [], options) == "ev-opts"
        config = store.get_run("ev-opts")["config"]
        assert config["seeds"] == [3, 4] and config["selection"] == options.selection
        back = RunRequest.from_run(store, "ev-opts").options()
    assert back == options.model_copy(update={"concurrency": 4})  # concurrency is not recorded


def test_a_bad_method_is_refused_before_the_run_is_recorded(tmp_path: Path) -> None:
    with Store(tmp_path / "b.duckdb") as store:
        with pytest.raises(ValueError, match="no-such-method"):
            run_evaluation(store, [], EvalOptions(methods=["no-such-method"], run_id="ev-bad"))
        assert store.get_run("ev-bad") is None
