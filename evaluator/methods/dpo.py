"""``dpo``: a per-user LoRA adapter trained with Direct Preference Optimization on days 1-4, by trl.

For every history turn the *chosen* reply is what the person really wrote and the *rejected*
reply is the base model's own answer to the same prompt (generated with the base model, no
adapter, cleaned like every prediction). The pairs are trained with ``trl.DPOTrainer`` (sigmoid
loss ``-log σ(β·[(log π(c) − log π_ref(c)) − (log π(r) − log π_ref(r))])``) on the CPU, batch size
one, constant learning rate. The policy is a fresh LoRA adapter put on the shared base weights for
the time of the training (:func:`evaluator.methods.hf_model.with_adapter`); trl takes the
reference from the same model with a frozen copy of that fresh adapter, which equals the base
model, so the loss starts at log 2. After training only the adapter's weights are kept and the
base model is left as it was (trl's fused log-prob head, which it patches onto the model's
``forward``, is removed again).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from evaluator.methods.base import HistoryTurn, MethodContext, UserTask, register
from evaluator.methods.clean import clean_reply
from evaluator.methods.hf_model import (
    BaseModel,
    adapter_state,
    base_reply,
    prompt_ids,
    reply_ids,
    with_adapter,
)
from evaluator.methods.lora import (
    AdapterPredictor,
    TrainedMethod,
    TrainResult,
    TrainSettings,
    chat_messages,
    completion_of,
    day_contexts,
    history_seed,
    housemate_system,
    npc_names,
    train_params,
)
from sharehouse.llm.base import Completion, Message


@dataclass
class PreferencePair:
    """One training pair in trl's conversational preference format."""

    prompt: list[Message]
    chosen: str
    rejected: str

    def row(self) -> dict[str, Any]:
        return {
            "prompt": [dict(m) for m in self.prompt],
            "chosen": [{"role": "assistant", "content": self.chosen}],
            "rejected": [{"role": "assistant", "content": self.rejected}],
        }


def fit_context(
    base: BaseModel,
    system: str,
    turn: HistoryTurn,
    context: Sequence[HistoryTurn],
    replies: Sequence[str],
    max_len: int,
) -> list[Message]:
    """The chat prompt for ``turn``, dropping the oldest context turns until prompt + longest reply fit."""
    longest = max(len(reply_ids(base, r)) for r in replies)
    ctx = list(context)
    while True:
        msgs = chat_messages(system, ctx, turn.npc, turn.message)
        if not ctx or len(prompt_ids(base, msgs)) + longest <= max_len:
            return msgs
        ctx = ctx[1:]


def preference_pairs(
    base: BaseModel, user: UserTask, settings: TrainSettings, ctx: MethodContext
) -> tuple[list[PreferencePair], list[Completion]]:
    """(chosen = real reply, rejected = base model's own reply) for every usable history turn, and
    the base model's generations behind the rejected replies."""
    names = npc_names(user)
    system = housemate_system(names)
    pairs: list[PreferencePair] = []
    made: list[Completion] = []
    for pos, (turn, context) in enumerate(day_contexts(user.history, settings.context_turns)):
        chosen = turn.response.strip()
        if not chosen:
            continue
        gen, cached = base_reply(
            base,
            chat_messages(system, context, turn.npc, turn.message),
            max_new_tokens=settings.base_max_tokens,
            temperature=ctx.temperature,
            top_p=ctx.top_p,
            seed=history_seed(ctx.seed, pos),
        )
        made.append(completion_of(gen, f"{base.name} (rejected)", cached=cached, role="rejected"))
        rejected = clean_reply(gen.text, npc_names=[*names, turn.npc])
        if rejected and rejected != chosen:
            prompt = fit_context(base, system, turn, context, [chosen, rejected], settings.max_len)
            pairs.append(PreferencePair(prompt=prompt, chosen=chosen, rejected=rejected))
    return pairs, made


@contextlib.contextmanager
def _keep_forward(model: Any) -> Iterator[None]:
    """Undo trl's patch of ``model.forward`` (its fused log-prob head) when the block ends."""
    own = vars(model)
    had, old = "forward" in own, own.get("forward")
    try:
        yield
    finally:
        if had:
            own["forward"] = old
        else:
            own.pop("forward", None)


@contextlib.contextmanager
def _quiet_datasets() -> Iterator[None]:
    """No ``datasets`` progress bars for the handful of rows trl maps over."""
    import datasets

    was = datasets.is_progress_bar_enabled()
    datasets.disable_progress_bars()
    try:
        yield
    finally:
        if was:
            datasets.enable_progress_bars()


def train_dpo(
    base: BaseModel, settings: TrainSettings, pairs: Sequence[PreferencePair], *, lr: float, seed: int
) -> TrainResult:
    """Train a fresh adapter on ``pairs`` with ``trl.DPOTrainer``; return its weights and record."""
    import datasets
    import trl
    from transformers.trainer_callback import PrinterCallback, ProgressCallback
    from trl import DPOConfig, DPOTrainer

    if not pairs:
        raise ValueError("no preference pairs")
    rows = datasets.Dataset.from_list([p.row() for p in pairs])
    with (
        tempfile.TemporaryDirectory(prefix="sharehouse-dpo-") as out,
        _quiet_datasets(),
        _keep_forward(base.model),
        with_adapter(base, settings.lora(), seed=seed) as pm,
    ):
        args = DPOConfig(
            output_dir=out,
            per_device_train_batch_size=1,
            per_device_eval_batch_size=1,
            gradient_accumulation_steps=1,
            learning_rate=lr,
            lr_scheduler_type="constant",
            warmup_steps=0,
            weight_decay=0.0,
            optim="adamw_torch",
            num_train_epochs=settings.epochs,
            max_steps=settings.max_steps or -1,
            beta=settings.dpo_beta,
            loss_type=["sigmoid"],
            max_length=settings.max_len,
            logging_steps=1,
            report_to="none",
            save_strategy="no",
            use_cpu=True,
            bf16=False,
            fp16=False,
            gradient_checkpointing=False,
            disable_tqdm=True,
            seed=seed,
            data_seed=seed,
            dataloader_num_workers=0,
        )
        trainer = DPOTrainer(
            model=pm,
            args=args,
            train_dataset=rows,
            eval_dataset=rows if settings.eval_loss else None,
            processing_class=base.tokenizer,
        )
        for callback in (PrinterCallback, ProgressCallback):
            trainer.remove_callback(callback)
        before = float(trainer.evaluate()["eval_loss"]) if settings.eval_loss else None
        output = trainer.train()
        after = float(trainer.evaluate()["eval_loss"]) if settings.eval_loss else None
        steps = [h for h in trainer.state.log_history if "loss" in h and "step" in h]
        state = adapter_state(pm)
    last = steps[-1] if steps else {}
    return TrainResult(
        state=state,
        losses=[float(h["loss"]) for h in steps],
        steps=int(output.global_step),
        seconds=float(output.metrics.get("train_runtime", 0.0)),
        loss_before=before,
        loss_after=after,
        extra={
            "implementation": f"trl {trl.__version__} DPOTrainer (loss_type sigmoid)",
            "max_grad_norm": args.max_grad_norm,
            "dropout": "disabled during training (trl disable_dropout)",
            "reference": "the base model (a frozen copy of the fresh adapter)",
            "last_reward_margin": last.get("rewards/margins"),
            "last_reward_accuracy": last.get("rewards/accuracies"),
        },
    )


@register("dpo")
class DpoMethod(TrainedMethod):
    name = "dpo"
    description = (
        "Per-user LoRA adapter trained with trl's DPO: the real reply preferred over the base model's own"
    )
    trains = True
    default_lr = 1e-4

    def _fit(self, user: UserTask, ctx: MethodContext) -> AdapterPredictor:
        settings = TrainSettings.from_extra(ctx.extra)
        base = settings.load(ctx.model_spec, method=self.name)
        lr = settings.lr or self.default_lr
        pairs, made = preference_pairs(base, user, settings, ctx)
        if not pairs:
            raise ValueError(
                f"user {user.user_id}: no preference pairs (every base reply was empty or equal)"
            )
        result = train_dpo(base, settings, pairs, lr=lr, seed=ctx.seed)
        params = train_params(
            self.name,
            settings,
            base,
            lr,
            result,
            len(pairs),
            dpo_beta=settings.dpo_beta,
            dpo_loss_at_start=math.log(2),
            rejected_from=f"{base.name} (no adapter), max {settings.base_max_tokens} tokens",
            base_max_tokens=settings.base_max_tokens,
        )
        return AdapterPredictor(base, settings, ctx, result.state, npc_names(user), params, made)

    async def fit(self, user: UserTask, ctx: MethodContext) -> AdapterPredictor:
        return await asyncio.to_thread(self._fit, user, ctx)
