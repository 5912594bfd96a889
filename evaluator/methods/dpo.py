"""``dpo``: a per-user LoRA adapter trained with Direct Preference Optimization on days 1-4.

For every history turn the *chosen* reply is what the person really wrote and the *rejected*
reply is the base model's own answer to the same prompt (generated with the base model, no
adapter). The reference policy is the base model itself; since a fresh LoRA adapter starts out
equal to it, the reference log-probabilities are computed once, before training.

The loss is written out here (a few lines) rather than run through trl's ``DPOTrainer``: the
trainer's dataset pipeline, reference-model bookkeeping and Trainer loop add minutes of set-up and
memory on a 2-core CPU for twelve pairs, and a direct loop keeps the seeds and the per-step record
in our hands. Loss per pair: ``-log σ(β·[(log π(c) − log π_ref(c)) − (log π(r) − log π_ref(r))])``.
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass
from typing import Any

from evaluator.methods.base import MethodContext, UserTask, register
from evaluator.methods.hf_model import BaseModel, base_reply, reply_ids
from evaluator.methods.lora import (
    AdapterPredictor,
    TrainSettings,
    build_example,
    chat_messages,
    day_contexts,
    history_seed,
    housemate_system,
    npc_names,
    target_logps,
    train_loop,
    train_params,
)
from sharehouse.textclean import clean_generated


@dataclass
class Pair:
    """One preference pair with the reference (base model) log-probabilities of both replies."""

    prompt: list[int]
    chosen: list[int]
    rejected: list[int]
    ref_chosen: float = 0.0
    ref_rejected: float = 0.0


@dataclass
class PairText:
    chosen: str
    rejected: str


def preference_texts(
    base: BaseModel, user: UserTask, settings: TrainSettings, ctx: MethodContext
) -> list[tuple[Any, PairText]]:
    """(history turn with its context, chosen/rejected texts) for every usable history turn."""
    system = housemate_system(npc_names(user))
    names = npc_names(user)
    out = []
    for pos, (turn, context) in enumerate(day_contexts(user.history, settings.context_turns)):
        chosen = turn.response.strip()
        if not chosen:
            continue
        raw = base_reply(
            base,
            chat_messages(system, context, turn.npc, turn.message),
            max_new_tokens=settings.base_max_tokens,
            temperature=ctx.temperature,
            seed=history_seed(ctx.seed, pos),
        )
        rejected = clean_generated(raw, stop_names=names)
        if rejected and rejected != chosen:
            out.append(((turn, context), PairText(chosen=chosen, rejected=rejected)))
    return out


def build_pairs(base: BaseModel, user: UserTask, settings: TrainSettings, ctx: MethodContext) -> list[Pair]:
    import torch

    system = housemate_system(npc_names(user))
    pairs = []
    for (turn, context), texts in preference_texts(base, user, settings, ctx):

        def make(c: Any, turn: Any = turn) -> Any:
            return chat_messages(system, c, turn.npc, turn.message)

        ex = build_example(base, make, context, texts.chosen, settings.max_len)
        rejected = reply_ids(base, texts.rejected)[: max(1, settings.max_len - len(ex.prompt))]
        pairs.append(Pair(prompt=ex.prompt, chosen=ex.target, rejected=rejected))
    with base.lock, torch.no_grad():
        base.model.eval()
        for p in pairs:
            p.ref_chosen = float(target_logps(base.model, p.prompt, p.chosen).sum())
            p.ref_rejected = float(target_logps(base.model, p.prompt, p.rejected).sum())
    return pairs


def dpo_loss_fn(beta: float) -> Any:
    def loss(model: Any, pair: Pair) -> Any:
        import torch.nn.functional as F

        chosen = target_logps(model, pair.prompt, pair.chosen).sum() - pair.ref_chosen
        rejected = target_logps(model, pair.prompt, pair.rejected).sum() - pair.ref_rejected
        return -F.logsigmoid(beta * (chosen - rejected))

    return loss


@register("dpo")
class DpoMethod:
    name = "dpo"
    description = "Per-user LoRA adapter trained with DPO: the real reply preferred over the base model's own"
    trains = True
    default_lr = 1e-4

    def _fit(self, user: UserTask, ctx: MethodContext) -> AdapterPredictor:
        settings = TrainSettings.from_extra(ctx.extra)
        base = settings.load()
        lr = settings.lr or self.default_lr
        pairs = build_pairs(base, user, settings, ctx)
        if not pairs:
            raise ValueError(
                f"user {user.user_id}: no preference pairs (every base reply was empty or equal)"
            )
        result = train_loop(
            base,
            settings.lora(),
            pairs,
            dpo_loss_fn(settings.dpo_beta),
            lr=lr,
            epochs=settings.epochs,
            max_steps=settings.max_steps,
            seed=ctx.seed,
            eval_loss=settings.eval_loss,
        )
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
            implementation="hand-written DPO loss (not trl.DPOTrainer)",
        )
        return AdapterPredictor(base, settings, ctx, result.state, npc_names(user), params)

    async def fit(self, user: UserTask, ctx: MethodContext) -> AdapterPredictor:
        return await asyncio.to_thread(self._fit, user, ctx)
