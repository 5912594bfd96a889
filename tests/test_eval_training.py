"""The parameter-updating methods (LoRA, DPO, Aligner) on the real 0.5B model and YNTP-100 users.

One quick LoRA smoke test runs by default (``model``); the end-to-end runs of each method are
``slow``. Training uses a handful of steps and short generations. Torch runs on one thread here:
on the shared 2-core machine two threads contend with other jobs and run several times slower.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from evaluator.methods import base as mb
from evaluator.methods import get_method
from evaluator.methods.base import HistoryTurn, MethodContext, UserTask
from evaluator.methods.clean import clean_reply

QUICK = {"max_steps": 2, "max_new_tokens": 16, "threads": 1, "lr": 1e-3}


def yntp_user(path: Path, n_tests: int = 2) -> UserTask:
    """Days 1-4 as history, the first ``n_tests`` day-5 turns as test items."""
    data = json.loads(path.read_text(encoding="utf-8"))
    uid = path.stem
    history = [
        HistoryTurn(day=d, npc=t["speaker"], message=t["message"], response=t["response"])
        for d in range(1, 5)
        for t in data[f"day_{d}"]
    ]
    tests: list[mb.TestItem] = []
    earlier: list[HistoryTurn] = []
    for i, t in enumerate(data["day_5"][:n_tests]):
        tests.append(
            mb.TestItem(
                session_id=uid,
                day=5,
                idx=i,
                npc=t["speaker"],
                message=t["message"],
                reference=t["response"],
                context=tuple(earlier),
            )
        )
        earlier.append(HistoryTurn(day=5, npc=t["speaker"], message=t["message"], response=t["response"]))
    return UserTask(user_id=uid, language="en", session_id=uid, history=history, tests=tests)


@pytest.fixture(scope="module")
def user_a(yntp_dir: Path) -> UserTask:
    return yntp_user(yntp_dir / "en" / "en_1.json")


@pytest.fixture(scope="module")
def user_b(yntp_dir: Path) -> UserTask:
    return yntp_user(yntp_dir / "en" / "en_2.json")


def context(**extra: Any) -> MethodContext:
    return MethodContext(model=None, model_spec="local:small", seed=0, temperature=0.7, extra=extra)  # type: ignore[arg-type]


def q_proj_sum(base: Any) -> float:
    layer = base.model.model.layers[0].self_attn.q_proj
    weight = layer.base_layer.weight if hasattr(layer, "base_layer") else layer.weight
    return float(weight.float().abs().sum())


def lora_b_norm(state: dict[str, Any]) -> float:
    return sum(float(v.float().norm()) for k, v in state.items() if "lora_B" in k)


def assert_clean_prediction(pred: Any, names: list[str]) -> None:
    assert pred.text.strip(), f"empty prediction (raw: {pred.raw!r})"
    assert pred.text == clean_reply(pred.raw, npc_names=names)  # the prompting methods' cleaning
    assert "<|im_end|>" not in pred.text and "<|im_start|>" not in pred.text
    assert not pred.flags


# -- no model needed ---------------------------------------------------------------------------


def test_training_methods_registered() -> None:
    for name in ("lora", "dpo", "aligner"):
        method = get_method(name)
        assert method.name == name and method.trains is True


def test_settings_from_extra_ignore_other_keys_and_validate() -> None:
    from pydantic import ValidationError

    from evaluator.methods.lora import TrainSettings

    s = TrainSettings.from_extra({"max_steps": 3, "lora_r": 4, "few_shot_k": 5})
    assert (s.max_steps, s.lora_r, s.epochs) == (3, 4, 3)
    assert s.lora().as_dict()["targets"] == ["q_proj", "k_proj", "v_proj", "o_proj"]
    with pytest.raises(ValueError, match="follows --models"):
        TrainSettings.from_extra({"train_model": "small"})  # the trained model is the --models spec
    with pytest.raises(ValueError, match="--top-p"):
        TrainSettings.from_extra({"top_p": 0.9})  # sampling is the run's generation parameters
    with pytest.raises(ValidationError):
        TrainSettings.from_extra({"lr": -1})


def test_the_trained_model_follows_the_model_spec(tmp_path: Path) -> None:
    from evaluator.methods.hf_model import NeedsLocalWeights, source_for_spec
    from sharehouse.llm.models import PACKAGED_MODELS

    default, small = source_for_spec("local"), source_for_spec("local:small")
    assert (default.key, default.filename) == ("default", PACKAGED_MODELS["default"].filename)
    assert "1.5b" in default.filename and "0.5b" in small.filename
    assert source_for_spec("local:default").key == "default"
    assert small.describe() == {
        "base_model": "small",
        "base_spec": "local:small",
        "base_gguf": PACKAGED_MODELS["small"].filename,
        "base_sha256": PACKAGED_MODELS["small"].sha256,
    }
    gguf = tmp_path / "mine.gguf"
    gguf.write_bytes(b"GGUF")
    mine = source_for_spec(f"local:{gguf}")
    assert not mine.packaged and mine.file == gguf.resolve() and mine.key.startswith("gguf-")
    assert mine.filename == "mine.gguf" and mine.stamp()["size"] == 4
    assert source_for_spec(str(gguf)).key == mine.key
    with pytest.raises(NeedsLocalWeights, match="needs a local model"):
        source_for_spec("openai/gpt-4o-mini", method="lora")
    with pytest.raises(ValueError, match="no such GGUF file"):
        source_for_spec(f"local:{tmp_path / 'missing.gguf'}")
    for name in ("lora", "dpo", "aligner"):
        method = get_method(name)
        method.check_model("local:small")  # type: ignore[attr-defined]
        with pytest.raises(NeedsLocalWeights):
            method.check_model("litellm:openai/gpt-4o-mini")  # type: ignore[attr-defined]


def test_trained_predictions_are_cleaned_like_prompting_ones() -> None:
    from evaluator.methods.hf_model import Generated
    from evaluator.methods.lora import make_prediction

    raw = 'Here\'s my reply:\n"Sounds good, count me in!"\n\nNote: I kept it short.'
    gen = Generated(text=raw, prompt="<prompt>", prompt_tokens=50, completion_tokens=14, latency_s=0.4)
    pred = make_prediction(gen, ["DaVinci"], "hf:small+lora", {"method": "lora", "steps": 2})
    assert pred.text == clean_reply(raw, npc_names=["DaVinci"]) == "Sounds good, count me in!"
    assert pred.params == {"method": "lora", "steps": 2}
    (comp,) = pred.completions
    assert (comp.prompt_tokens, comp.completion_tokens, comp.latency_s) == (50, 14, 0.4)
    assert comp.raw["params"]["steps"] == 2


def test_day_contexts_stay_within_a_day(user_a: UserTask) -> None:
    from evaluator.methods.lora import chat_messages, day_contexts

    pairs = day_contexts(user_a.history, keep=2)
    assert len(pairs) == 12
    for turn, ctx in pairs:
        assert len(ctx) <= 2 and all(t.day == turn.day for t in ctx)
        assert turn not in ctx
    first_of_day2 = [ctx for turn, ctx in pairs if turn.day == 2][0]
    assert first_of_day2 == ()
    turn, ctx = pairs[2]
    msgs = chat_messages("sys", ctx, turn.npc, turn.message)
    assert [m["role"] for m in msgs] == ["system", "user", "assistant", "user", "assistant", "user"]
    assert msgs[-1]["content"] == f"{turn.npc}: {turn.message}"
    assert msgs[2]["content"] == ctx[0].response


# -- the real model ------------------------------------------------------------------------------


@pytest.mark.model
def test_examples_put_the_loss_on_the_reply_only(user_a: UserTask) -> None:
    from evaluator.methods.lora import TrainSettings, sft_examples

    settings = TrainSettings.from_extra(QUICK)
    base = settings.load("local:small")
    examples = sft_examples(base, user_a, settings)
    assert len(examples) == len(user_a.history)
    tok = base.tokenizer
    for ex, turn in zip(examples, user_a.history, strict=True):
        assert tok.decode(ex.target) == turn.response.strip() + "<|im_end|>"
        prompt = tok.decode(ex.prompt)
        assert prompt.endswith("<|im_start|>assistant\n")
        assert f"{turn.npc}: {turn.message}<|im_end|>" in prompt


@pytest.mark.model
async def test_lora_smoke(user_a: UserTask) -> None:
    """Two training steps and one short reply: the adapter moves, the base model is left as it was."""
    from evaluator.methods.hf_model import adapter_free, is_converted
    from evaluator.methods.lora import TrainSettings

    base = TrainSettings.from_extra(QUICK).load("local:small")
    before = q_proj_sum(base)
    predictor = await get_method("lora").fit(user_a, context(**QUICK))
    assert is_converted("small")
    assert lora_b_norm(predictor.state) > 0  # LoRA B starts at zero: any change is training
    assert adapter_free(base) and q_proj_sum(base) == before
    assert predictor.params["steps"] == 2 and predictor.params["lr"] == 1e-3
    assert predictor.params["lora"]["r"] == 8

    pred = await predictor.predict(user_a.tests[0])
    assert_clean_prediction(pred, predictor.names)
    assert pred.completions[0].raw["params"]["method"] == "lora"
    assert 0 < pred.completions[0].completion_tokens <= 16
    assert adapter_free(base) and q_proj_sum(base) == before


@pytest.mark.model
@pytest.mark.slow
async def test_lora_learns_and_users_do_not_share_adapters(user_a: UserTask, user_b: UserTask) -> None:
    from evaluator.methods.hf_model import adapter_free
    from evaluator.methods.lora import TrainSettings, mean_loss, sft_examples, sft_loss

    extra = {"max_steps": 4, "max_new_tokens": 24, "threads": 1, "lr": 1e-3, "eval_loss": True}
    settings = TrainSettings.from_extra(extra)
    base = settings.load("local:small")
    method = get_method("lora")

    pa = await method.fit(user_a, context(**extra))
    assert pa.params["loss_after"] < pa.params["loss_before"]
    first = [await pa.predict(item) for item in user_a.tests]
    for pred in first:
        assert_clean_prediction(pred, pa.names)

    # User B's fresh adapter starts exactly at the base model, not at user A's adapter.
    base_loss_b = mean_loss(base.model, sft_examples(base, user_b, settings), sft_loss)
    pb = await method.fit(user_b, context(**extra))
    assert pb.params["loss_before"] == pytest.approx(base_loss_b, abs=1e-3)
    assert pb.params["loss_after"] < pb.params["loss_before"]
    assert adapter_free(base)
    key = next(k for k in pa.state if "lora_B" in k)
    assert not pa.state[key].equal(pb.state[key])

    # A's predictions do not change after B was trained (same seed, A's own adapter).
    again = [await pa.predict(item) for item in user_a.tests]
    assert [p.raw for p in again] == [p.raw for p in first]


@pytest.mark.model
@pytest.mark.slow
async def test_dpo_prefers_the_real_reply(user_a: UserTask) -> None:
    from evaluator.methods.hf_model import adapter_free

    extra = {
        "max_steps": 3,
        "max_new_tokens": 24,
        "base_max_tokens": 16,
        "threads": 1,
        "lr": 5e-4,
        "eval_loss": True,
    }
    predictor = await get_method("dpo").fit(user_a, context(**extra))
    params = predictor.params
    assert params["dpo_beta"] == 0.1 and params["examples"] >= 10
    # A fresh adapter equals the reference, so the loss starts at log 2 and must go below it.
    assert params["loss_before"] == pytest.approx(math.log(2), abs=1e-3)
    assert params["loss_after"] < params["loss_before"]
    assert lora_b_norm(predictor.state) > 0
    for item in user_a.tests:
        assert_clean_prediction(await predictor.predict(item), predictor.names)
    assert adapter_free(predictor.base)


@pytest.mark.model
@pytest.mark.slow
async def test_aligner_rewrites_the_base_draft(user_a: UserTask) -> None:
    from evaluator.methods.hf_model import adapter_free

    extra = {
        "max_steps": 3,
        "max_new_tokens": 24,
        "base_max_tokens": 16,
        "threads": 1,
        "lr": 1e-3,
        "eval_loss": True,
    }
    predictor = await get_method("aligner").fit(user_a, context(**extra))
    assert predictor.params["loss_after"] < predictor.params["loss_before"]
    for item in user_a.tests:
        pred = await predictor.predict(item)
        assert_clean_prediction(pred, predictor.names)
        draft, final = pred.completions
        assert draft.raw == {"role": "draft"} and draft.text.strip() and draft.completion_tokens > 0
        assert final.raw["params"]["method"] == "aligner"
        # the draft generation, cleaned like every reply, is what the corrector rewrites
        cleaned = clean_reply(draft.text, npc_names=[*predictor.names, item.npc])
        assert "Draft answer: " + cleaned in pred.prompt
    assert adapter_free(predictor.base)


# -- through the runner: stored, scored, with tokens and the training record ----------------------


def _store_with(tmp_path: Path, yntp_dir: Path, names: list[str]) -> Any:
    import shutil

    from sharehouse.io import import_yntp
    from sharehouse.store import Store

    (tmp_path / "data" / "en").mkdir(parents=True)
    for name in names:
        shutil.copy(yntp_dir / "en" / name, tmp_path / "data" / "en" / name)
    store = Store(tmp_path / "train.duckdb")
    import_yntp(store, tmp_path / "data")
    return store


def _assert_trained_predictions(
    store: Any, run_id: str, method: str, tasks: list[UserTask], steps: int
) -> None:
    from evaluator.methods.lora import npc_names
    from sharehouse.llm.models import PACKAGED_MODELS
    from sharehouse.store.evaluation import load_predictions, load_scored_turns, load_user_status

    users = [t.user_id for t in tasks]
    names = {t.user_id: npc_names(t) for t in tasks}
    preds = load_predictions(store, run_id, method=method, model="local:small")
    assert sorted(p.user_id for p in preds) == sorted(users), method
    for p in preds:
        assert p.prediction == clean_reply(
            p.raw, npc_names=names[p.user_id]
        )  # the prompting methods' cleaning
        # tokens, calls and the prompt hash of the transformers generations, not 0/None
        assert p.prompt_tokens and p.prompt_tokens > 20 and p.completion_tokens and p.completion_tokens > 0
        assert p.llm_calls == (2 if method == "aligner" else 1) and len(p.prompt_sha256 or "") == 64
        record = p.params["method_params"]
        assert record["method"] == method and record["steps"] == steps
        assert record["base_model"] == "small" and record["base_spec"] == "local:small"
        assert record["base_gguf"] == PACKAGED_MODELS["small"].filename
        assert len(record["step_losses"]) == steps and record["lora"]["r"] == 8
        assert p.latency_s and p.latency_s > 0
    scored = [t for t in load_scored_turns(store, run_id) if t["method"] == method]
    assert len(scored) == len(preds) and all(t["m1"] is not None and t["m6"] is not None for t in scored)
    status = {(s.model, s.user_id): s for s in load_user_status(store, run_id) if s.method == method}
    for user in users:
        ok = status[("local:small", user)]
        assert ok.status == "ok" and ok.fit_info is not None and ok.fit_info["steps"] == steps
        assert ok.fit_latency_s and ok.fit_latency_s > 0
        if method in ("dpo", "aligner"):  # the base model's own replies were generated while fitting
            assert ok.fit_prompt_tokens and ok.fit_completion_tokens
        api = status[("openai/gpt-4o-mini", user)]
        assert api.status == "failed" and "needs a local model" in (api.error or "")


@pytest.mark.model
def test_lora_through_the_runner(tmp_path: Path, yntp_dir: Path) -> None:
    """One user, one step: stored with its tokens and training record, scored, the API model skipped
    with a reason, and the llama.cpp model never loaded (LoRA generates with transformers)."""
    from evaluator.request import EvalOptions
    from evaluator.runner import EvalParams, run_evaluation
    from evaluator.task import build_tasks

    store = _store_with(tmp_path, yntp_dir, ["en_1.json"])
    tasks, _ = build_tasks(store, source="yntp100", max_tests=1)
    extra = {
        "max_steps": 1,
        "max_new_tokens": 6,
        "threads": 1,
        "lr": 1e-3,
        "context_turns": 0,
        "max_len": 160,
    }
    events: list[tuple[str, dict[str, Any]]] = []
    rid = run_evaluation(
        store, tasks, EvalOptions(methods=["lora"], models=["local:small", "openai/gpt-4o-mini"],
                                  params=EvalParams(extra=extra)),
        on_event=lambda e: events.append((e.kind, e.data())),
    )  # fmt: skip
    kinds = [k for k, _ in events]
    assert "model_loaded" not in kinds
    assert ("method_skipped", "openai/gpt-4o-mini") in [(k, d.get("model")) for k, d in events]
    _assert_trained_predictions(store, rid, "lora", tasks, steps=1)
    store.close()


@pytest.mark.model
@pytest.mark.slow
def test_lora_dpo_aligner_end_to_end_on_two_users(tmp_path: Path, yntp_dir: Path) -> None:
    """The issue's test: each trained method through ``run_evaluation`` on two YNTP-100 users with a
    few training steps on local:small, stored and scored; DPO trained by trl."""
    from evaluator.request import EvalOptions
    from evaluator.runner import EvalParams, run_evaluation
    from evaluator.task import build_tasks

    store = _store_with(tmp_path, yntp_dir, ["en_1.json", "en_2.json"])
    tasks, _ = build_tasks(store, source="yntp100", max_tests=1)
    assert len(tasks) == 2
    extra = {"max_steps": 2, "max_new_tokens": 12, "base_max_tokens": 12, "threads": 1, "lr": 1e-3}
    events: list[tuple[str, dict[str, Any]]] = []
    rid = run_evaluation(
        store, tasks, EvalOptions(methods=["lora", "dpo", "aligner"], models=["local:small", "openai/gpt-4o-mini"],
                                  params=EvalParams(extra=extra)),
        on_event=lambda e: events.append((e.kind, e.data())),
    )  # fmt: skip
    assert "model_loaded" not in [k for k, _ in events]
    for method in ("lora", "dpo", "aligner"):
        _assert_trained_predictions(store, rid, method, tasks, steps=2)
    from sharehouse.store.evaluation import load_user_status

    dpo = next(s for s in load_user_status(store, rid) if s.method == "dpo" and s.status == "ok")
    assert (dpo.fit_info or {})["implementation"].startswith("trl ")
    assert (dpo.fit_info or {})["step_losses"][0] == pytest.approx(math.log(2), abs=1e-3)
    store.close()
