"""``aligner``: a per-user corrector that rewrites the base model's reply into the person's own.

The base model stays frozen. A LoRA adapter on the same local model is trained on days 1-4 as a
corrector: its input is the NPC's message and the base model's own reply to it (the draft), its
target is the person's real reply. On day 5 the base model first drafts a reply (no adapter), then
the corrector rewrites the draft. Drafts and final replies are cleaned like the prompting methods'
replies; both generations are kept in the prediction's completions (tokens, latency).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from evaluator.methods.base import HistoryTurn, MethodContext, Prediction, TestItem, UserTask, register
from evaluator.methods.clean import clean_reply
from evaluator.methods.hf_model import BaseModel, base_reply, generate, set_threads, with_adapter
from evaluator.methods.lora import (
    AdapterPredictor,
    Example,
    TrainedMethod,
    TrainSettings,
    build_example,
    chat_messages,
    completion_of,
    day_contexts,
    history_seed,
    housemate_system,
    item_context,
    item_seed,
    make_prediction,
    npc_names,
    sft_loss,
    train_loop,
    train_params,
)
from sharehouse.llm.base import Completion, Message


def corrector_system(names: Sequence[str]) -> str:
    mates = ", ".join(names) if names else "housemates"
    return (
        f"Someone who shares a house with {mates} is answering one of them. You get the housemate's "
        "message and a draft answer. Rewrite the draft so it reads the way this person really "
        "writes: their length, tone, wording and punctuation. Output only the rewritten answer."
    )


def corrector_messages(system: str, npc: str, message: str, draft: str) -> list[Message]:
    return [
        {"role": "system", "content": system},
        {"role": "user", "content": f"{npc} wrote: {message}\n\nDraft answer: {draft}"},
    ]


def draft_reply(
    base: BaseModel,
    names: Sequence[str],
    context: Sequence[HistoryTurn],
    npc: str,
    message: str,
    *,
    settings: TrainSettings,
    temperature: float,
    top_p: float,
    seed: int,
) -> tuple[str, Completion]:
    """The base model's own (cleaned) reply to the message, as the housemate prompt asks it, and the
    generation behind it."""
    gen, cached = base_reply(
        base,
        chat_messages(housemate_system(names), context, npc, message),
        max_new_tokens=settings.base_max_tokens,
        temperature=temperature,
        top_p=top_p,
        seed=seed,
    )
    draft = clean_reply(gen.text, npc_names=[*names, npc])
    return draft, completion_of(gen, f"{base.name} (draft)", cached=cached, role="draft")


def corrector_examples(
    base: BaseModel, user: UserTask, settings: TrainSettings, ctx: MethodContext
) -> tuple[list[Example], list[str], list[Completion]]:
    """Training examples (message + draft → real reply), the drafts used and their generations."""
    names = npc_names(user)
    system = corrector_system(names)
    examples: list[Example] = []
    drafts: list[str] = []
    made: list[Completion] = []
    for pos, (turn, context) in enumerate(day_contexts(user.history, settings.context_turns)):
        target = turn.response.strip()
        if not target:
            continue
        draft, comp = draft_reply(
            base,
            names,
            context,
            turn.npc,
            turn.message,
            settings=settings,
            temperature=ctx.temperature,
            top_p=ctx.top_p,
            seed=history_seed(ctx.seed, pos),
        )
        msgs = corrector_messages(system, turn.npc, turn.message, draft)
        examples.append(build_example(base, lambda _c, m=msgs: m, (), target, settings.max_len))
        drafts.append(draft)
        made.append(comp)
    return examples, drafts, made


class AlignerPredictor(AdapterPredictor):
    """Drafts with the base model, then rewrites the draft with the user's corrector adapter."""

    def _predict(self, item: TestItem) -> Prediction:
        set_threads(self.settings.threads)
        draft, draft_comp = draft_reply(
            self.base,
            self.names,
            item_context(item, self.settings.context_turns),
            item.npc,
            item.message,
            settings=self.settings,
            temperature=self.temperature,
            top_p=self.top_p,
            seed=item_seed(self.seed, item),
        )
        msgs = corrector_messages(corrector_system(self.names), item.npc, item.message, draft)
        with with_adapter(self.base, self.settings.lora(), self.state, seed=self.seed) as pm:
            gen = generate(
                self.base,
                pm,
                msgs,
                max_new_tokens=self.max_new_tokens,
                temperature=self.temperature,
                top_p=self.top_p,
                seed=item_seed(self.seed, item),
            )
        pred = make_prediction(gen, [*self.names, item.npc], f"{self.base.name}+aligner", self.params)
        pred.completions.insert(0, draft_comp)
        return pred


@register("aligner")
class AlignerMethod(TrainedMethod):
    name = "aligner"
    description = "Per-user corrector LoRA that rewrites the base model's reply into the user's own"
    trains = True
    default_lr = 2e-4

    def _fit(self, user: UserTask, ctx: MethodContext) -> AlignerPredictor:
        settings = TrainSettings.from_extra(ctx.extra)
        base = settings.load(ctx.model_spec, method=self.name)
        lr = settings.lr or self.default_lr
        examples, _drafts, made = corrector_examples(base, user, settings, ctx)
        result = train_loop(
            base,
            settings.lora(),
            examples,
            sft_loss,
            lr=lr,
            epochs=settings.epochs,
            max_steps=settings.max_steps,
            seed=ctx.seed,
            eval_loss=settings.eval_loss,
        )
        params: dict[str, Any] = train_params(
            self.name,
            settings,
            base,
            lr,
            result,
            len(examples),
            drafts_from=f"{base.name} (no adapter), max {settings.base_max_tokens} tokens",
            base_max_tokens=settings.base_max_tokens,
        )
        return AlignerPredictor(base, settings, ctx, result.state, npc_names(user), params, made)

    async def fit(self, user: UserTask, ctx: MethodContext) -> AlignerPredictor:
        return await asyncio.to_thread(self._fit, user, ctx)
