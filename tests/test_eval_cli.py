"""``sharehouse evaluate``: help, ``list``, and the errors that need no model."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from evaluator.runner import EvalParams
from sharehouse.cli import _build, app
from sharehouse.store import Store


@pytest.fixture(scope="module")
def cli():
    _build()
    return CliRunner()


def test_help_lists_the_options(cli: CliRunner) -> None:
    result = cli.invoke(app, ["evaluate", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for opt in ("--methods", "--models", "--source", "--languages", "--users", "--limit-users", "--seed",
                "--seeds", "--temperature", "--top-p", "--max-tokens", "--concurrency", "--run", "--db",
                "--api-base", "--m2-encoder", "--m6-encoder", "--m4-unit", "--judge", "--judge-concurrency",
                "--protocol", "list", "show"):  # fmt: skip
        assert opt in result.output, opt


def test_list_shows_every_prompting_method(cli: CliRunner) -> None:
    result = cli.invoke(app, ["evaluate", "list"], env={"COLUMNS": "250"})
    assert result.exit_code == 0
    rows = {line.split("│")[1].strip(): line for line in result.output.splitlines() if line.count("│") > 3}
    expected = {
        "zero-shot": "both", "few-shot": "paper", "few-shot-mbti": "paper", "cot": "paper",
        "few-shot+style": "sharehouse", "few-shot-mbti+style": "sharehouse", "cot+style": "sharehouse",
        "gpg": "both", "retrieval": "both", "lora": "both",
    }  # fmt: skip
    for name, protocol in expected.items():
        assert rows[name].split("│")[2].strip() == protocol, rows[name]
    assert "Guided profile generation" in result.output
    assert "paper: the paper's Appendix E" in " ".join(result.output.split())


def test_empty_store_and_bad_arguments(cli: CliRunner, tmp_path: Path) -> None:
    db = tmp_path / "empty.duckdb"
    Store(db).close()
    result = cli.invoke(app, ["evaluate", "--db", str(db), "--no-progress"])
    assert result.exit_code == 1
    assert "sharehouse import yntp" in result.output
    result = cli.invoke(app, ["evaluate", "--db", str(db), "--languages", "fr"])
    assert result.exit_code == 2 and "unknown language" in result.output
    result = cli.invoke(app, ["evaluate", "show", "nope", "--db", str(db)])
    assert result.exit_code == 1 and "no evaluation run" in result.output


def test_unknown_method_is_rejected_before_any_model_call(
    cli: CliRunner, tmp_path: Path, yntp_dir: Path
) -> None:
    import shutil

    from sharehouse.io import import_yntp

    (tmp_path / "d" / "en").mkdir(parents=True)
    shutil.copy(yntp_dir / "en" / "en_1.json", tmp_path / "d" / "en" / "en_1.json")
    db = tmp_path / "one.duckdb"
    with Store(db) as store:
        import_yntp(store, tmp_path / "d")
    result = cli.invoke(app, ["evaluate", "--db", str(db), "--methods", "telepathy", "--no-progress"])
    assert result.exit_code == 2
    assert "unknown method" in result.output


def _one_user_db(tmp_path: Path, yntp_dir: Path) -> Path:
    import shutil

    from sharehouse.io import import_yntp

    (tmp_path / "d" / "en").mkdir(parents=True)
    shutil.copy(yntp_dir / "en" / "en_1.json", tmp_path / "d" / "en" / "en_1.json")
    db = tmp_path / "one.duckdb"
    with Store(db) as store:
        import_yntp(store, tmp_path / "d")
    return db


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--seeds", "0,x"], "--seeds expects comma-separated whole numbers"),
        (["--m4-unit", "words"], "length_unit"),
        (["--m2-encoder", "bert"], "sentence_encoder"),
        (["--top-p", "1.5"], "--top-p"),
        (["--methods", "lora", "-o", "train_model=small"], "follows --models"),
        (["--methods", "dpo", "-o", "top_p=0.9"], "--top-p"),
        (["--methods", "lora", "-o", "lora_r=0"], "lora_r"),
        (["--judge", "local:/no/such/dir"], "unknown local model"),
        (["--tui", "--seeds", "0,1"], "--tui runs one seed"),
        (["--protocol", "paper", "--methods", "few-shot+style"], "belongs to the sharehouse protocol"),
        (["--methods", "few-shot"], "under sharehouse run few-shot+style"),
        (["--protocol", "sharehouse", "--methods", "cot"], "--protocol paper"),
        (["--protocol", "appendix"], "unknown protocol 'appendix'"),
    ],
)
def test_bad_generation_metric_and_training_options_are_rejected_before_any_model_call(
    cli: CliRunner, tmp_path: Path, yntp_dir: Path, args: list[str], message: str
) -> None:
    db = _one_user_db(tmp_path, yntp_dir)
    result = cli.invoke(app, ["evaluate", "--db", str(db), "--no-progress", *args], env={"COLUMNS": "250"})
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split()), result.output
    with Store(db) as store:  # nothing was run or stored
        assert store.fetchone("SELECT count(*) FROM eval_predictions")[0] == 0


def test_show_prints_z_scores_over_the_chosen_pool(cli: CliRunner, tmp_path: Path) -> None:
    from sharehouse.store import Store
    from sharehouse.store.evaluation import PredictionRecord, ScoreRecord, insert_prediction, put_scores

    db = tmp_path / "z.duckdb"
    with Store(db) as store:
        store.upsert_run("ev-z", "evaluate", {"methods": ["few-shot"], "models": ["local:small"]})
        for i, (lang, m2) in enumerate([("en", 0.8), ("en", 0.6), ("ja", 0.2), ("ja", 0.0)]):
            sid = f"s-{i}"
            insert_prediction(
                store,
                PredictionRecord(eval_run="ev-z", method="few-shot", model="local:small", user_id=f"u{i}",
                                 language=lang, session_id=sid, day=5, idx=0, npc="Leo", message="m",
                                 reference="r", prediction="p", raw="p", prompt_sha256="ab" * 32),
            )  # fmt: skip
            put_scores(
                store,
                [ScoreRecord(eval_run="ev-z", method="few-shot", model="local:small", session_id=sid, day=5,
                             idx=0, m1=0.5, m2=m2, m3=0.1, m4=0.5, m5=0.5, m6=0.5)],
            )  # fmt: skip
    pooled = cli.invoke(
        app, ["evaluate", "show", "ev-z", "--db", str(db), "--z-pool", "all"], env={"COLUMNS": "250"}
    )
    assert pooled.exit_code == 0, pooled.output
    assert "z-scores over all users" in pooled.output and "0.949" in pooled.output  # 0.3 / sqrt(0.1)
    within = cli.invoke(app, ["evaluate", "show", "ev-z", "--db", str(db)], env={"COLUMNS": "250"})
    assert within.exit_code == 0 and "this language's users" in within.output  # the default
    assert "across languages (en, ja)" in within.output  # the cross-language leaderboard follows
    assert "0.949" not in within.output
    bad = cli.invoke(app, ["evaluate", "show", "ev-z", "--db", str(db), "--z-pool", "method"])
    assert bad.exit_code == 2 and "--z-pool" in bad.output


def test_runs_stored_before_the_renaming_show_what_ran(cli: CliRunner, tmp_path: Path) -> None:
    """A run made before the protocols stored few-shot / cot for the style variants: shown as
    few-shot+style / cot+style, while predictions imported into it keep the paper's names; the
    rows themselves are not rewritten, and such a run cannot take the new name beside the old."""
    from evaluator.request import EvalOptions
    from evaluator.runner import run_evaluation
    from sharehouse.store.evaluation import PredictionRecord, ScoreRecord, insert_prediction, put_scores

    db = tmp_path / "old.duckdb"
    config = {
        "methods": ["few-shot", "cot"], "models": ["local:small", "gpt-4o-mini"],
        "params": {"temperature": 0.7, "max_tokens": 160, "top_p": 0.95},
        "imports": [{"combinations": [["few-shot", "gpt-4o-mini"]]}],
    }  # fmt: skip
    with Store(db) as store:
        store.upsert_run("ev-old", "evaluate", config)
        combos = [("few-shot", "local:small"), ("cot", "local:small"), ("few-shot", "gpt-4o-mini")]
        for method, model in combos:
            for i in range(2):
                insert_prediction(
                    store,
                    PredictionRecord(eval_run="ev-old", method=method, model=model, user_id=f"u{i}",
                                     language="en", session_id=f"s{i}", day=5, idx=0, npc="Leo", message="m",
                                     reference="r", prediction="p", raw="p"),
                )  # fmt: skip
                put_scores(
                    store,
                    [ScoreRecord(eval_run="ev-old", method=method, model=model, session_id=f"s{i}", day=5,
                                 idx=0, m1=0.5, m2=0.1 * i, m3=0.1, m4=0.5, m5=0.5, m6=0.5)],
                )  # fmt: skip
        with pytest.raises(ValueError, match="before the methods were renamed"):
            options = EvalOptions(methods=["few-shot+style"], models=["local:small"], run_id="ev-old")
            run_evaluation(store, [], options)
        with pytest.raises(ValueError, match="made under the sharehouse protocol"):
            options = EvalOptions(
                methods=["few-shot"],
                models=["local:small"],
                run_id="ev-old",
                params=EvalParams(protocol="paper"),
            )
            run_evaluation(store, [], options)
        stored = {r[0] for r in store.fetchall("SELECT DISTINCT method FROM eval_predictions")}
    assert stored == {"few-shot", "cot"}
    result = cli.invoke(app, ["evaluate", "show", "ev-old", "--db", str(db)], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    shown = {
        (cells[1].strip(), cells[2].strip())
        for cells in (line.split("│") for line in result.output.splitlines())
        if len(cells) > 4 and cells[2].strip() in ("local:small", "gpt-4o-mini")
    }
    assert {
        ("few-shot+style", "local:small"),
        ("cot+style", "local:small"),
        ("few-shot", "gpt-4o-mini"),
    } <= shown
    assert ("few-shot", "local:small") not in shown and ("cot", "local:small") not in shown
    assert "protocol sharehouse" in result.output
