"""``lora``: a per-user LoRA adapter on the local model, trained on the user's days 1-4.

Each history turn becomes one chat example: a short housemate system message, the earlier turns
of the same day, the NPC's message as the user turn and the person's real reply as the assistant
turn; the loss covers the reply tokens only. Day-5 replies are then generated with the adapter and
cleaned exactly like the prompting methods' replies (:func:`evaluator.methods.clean.clean_reply`).

The trained weights follow the evaluation's model spec (``local`` → the packaged 1.5B,
``local:small`` → the 0.5B, ``local:/x.gguf`` → that file; see
:func:`evaluator.methods.hf_model.source_for_spec`); an API model spec is refused.

This module also holds the parts the other training methods share: the settings read from
``MethodContext.extra`` (:class:`TrainSettings`), the chat layout (:func:`chat_messages`), the
tokenised examples and the supervised training loop (:func:`train_sft`), and the predictor that
generates with a trained adapter (:class:`AdapterPredictor`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel as PydModel
from pydantic import ConfigDict, Field

from evaluator.methods.base import (
    HistoryTurn,
    MethodBase,
    MethodContext,
    Prediction,
    TestItem,
    UserTask,
    register,
)
from evaluator.methods.clean import clean_reply
from evaluator.methods.hf_model import (
    BaseModel,
    Generated,
    LoraSettings,
    adapter_state,
    generate,
    load_base,
    prompt_ids,
    reply_ids,
    set_threads,
    source_for_spec,
    with_adapter,
)
from sharehouse.llm.base import Completion, Message

IGNORE = -100
REMOVED_SETTINGS = {
    "train_model": "the trained model follows --models (local, local:small or local:/path.gguf)",
    "top_p": "use the run's --top-p",
}


class TrainSettings(PydModel):
    """Training and generation settings of the parameter-updating methods (from ``ctx.extra``).

    Unknown keys in ``extra`` are ignored, so one ``extra`` can carry settings for every method.
    ``lr`` left unset takes the method's own default. Which model is trained is not a setting: it
    follows the evaluation's model spec (``--models``); the sampling ``top_p`` and ``temperature``
    are the run's generation parameters (``--top-p``, ``--temperature``).
    """

    model_config = ConfigDict(extra="ignore", frozen=True)

    epochs: int = Field(3, ge=1)
    max_steps: int | None = Field(None, ge=1)  # overrides epochs: exactly this many steps
    lr: float | None = Field(None, gt=0)
    lora_r: int = Field(8, ge=1)
    lora_alpha: int = Field(16, ge=1)
    lora_dropout: float = Field(0.05, ge=0, lt=1)
    context_turns: int = Field(2, ge=0)  # earlier same-day turns shown before the message
    max_len: int = Field(768, ge=64)  # tokens per training example (prompt + reply)
    max_new_tokens: int | None = Field(None, ge=1)  # default: ctx.max_tokens
    base_max_tokens: int = Field(64, ge=1)  # length of the base model's own replies (DPO, Aligner)
    dpo_beta: float = Field(0.1, gt=0)
    eval_loss: bool = False  # also measure the loss on the training set before and after
    threads: int = Field(2, ge=1)  # torch threads (1 is faster when other jobs share the cores)
    dtype: Literal["auto", "bfloat16", "float32"] = "auto"  # base weights; adapters stay fp32

    @classmethod
    def from_extra(cls, extra: dict[str, Any]) -> TrainSettings:
        for key, instead in REMOVED_SETTINGS.items():
            if key in extra:
                raise ValueError(f"training option {key!r} no longer exists: {instead}")
        return cls.model_validate(extra)

    def load(self, model_spec: str, *, method: str = "this method") -> BaseModel:
        """The base model to train for the evaluation model ``model_spec`` (loaded once per process)."""
        return load_base(source_for_spec(model_spec, method=method), dtype=self.dtype, threads=self.threads)

    def lora(self) -> LoraSettings:
        return LoraSettings(r=self.lora_r, alpha=self.lora_alpha, dropout=self.lora_dropout)


@dataclass
class Example:
    """One supervised example: the prompt tokens and the target tokens the loss is taken on."""

    prompt: list[int]
    target: list[int]


@dataclass
class TrainResult:
    state: dict[str, Any]  # the trained adapter weights
    losses: list[float]  # per optimizer step
    steps: int
    seconds: float
    loss_before: float | None = None
    loss_after: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def npc_names(user: UserTask) -> list[str]:
    names = {t.npc for t in user.history} | {t.npc for t in user.tests}
    return sorted(n for n in names if n)


def housemate_system(names: Sequence[str]) -> str:
    mates = ", ".join(names) if names else "your housemates"
    return (
        f"You live in a shared house together with {mates}. They talk to you over the day and you "
        "answer them as yourself: in your own words, at your usual length and in the language "
        "they use with you."
    )


def chat_messages(system: str, context: Sequence[HistoryTurn], npc: str, message: str) -> list[Message]:
    """The chat prompt for one reply: system, earlier turns of the day, then the NPC's message."""
    msgs: list[Message] = [{"role": "system", "content": system}]
    for turn in context:
        msgs.append({"role": "user", "content": f"{turn.npc}: {turn.message}"})
        msgs.append({"role": "assistant", "content": turn.response})
    msgs.append({"role": "user", "content": f"{npc}: {message}"})
    return msgs


def day_contexts(
    history: Sequence[HistoryTurn], keep: int
) -> list[tuple[HistoryTurn, tuple[HistoryTurn, ...]]]:
    """Each history turn with up to ``keep`` earlier turns of the same day (oldest first)."""
    out: list[tuple[HistoryTurn, tuple[HistoryTurn, ...]]] = []
    for i, turn in enumerate(history):
        earlier = [t for t in history[:i] if t.day == turn.day]
        out.append((turn, tuple(earlier[-keep:]) if keep else ()))
    return out


def item_context(item: TestItem, keep: int) -> tuple[HistoryTurn, ...]:
    return tuple(item.context[-keep:]) if keep else ()


def build_example(
    base: BaseModel,
    make_messages: Callable[[Sequence[HistoryTurn]], list[Message]],
    context: Sequence[HistoryTurn],
    target: str,
    max_len: int,
) -> Example:
    """Tokenise one example, dropping the oldest context turns (then reply tokens) to fit ``max_len``."""
    tgt = reply_ids(base, target)
    ctx = list(context)
    while True:
        prompt = prompt_ids(base, make_messages(ctx))
        if len(prompt) + len(tgt) <= max_len or not ctx:
            break
        ctx = ctx[1:]
    if len(prompt) + len(tgt) > max_len:
        prompt = prompt[-max(max_len // 2, max_len - len(tgt)) :]
        tgt = tgt[: max_len - len(prompt)]
    return Example(prompt=prompt, target=tgt)


def target_logps(model: Any, prompt: Sequence[int], target: Sequence[int]) -> Any:
    """Log-probabilities of each ``target`` token after ``prompt`` (a 1-D tensor, fp32).

    Only the logits of the target positions are computed (``logits_to_keep``), which spares most
    of the output-layer cost on long prompts.
    """
    import torch

    ids = torch.tensor([list(prompt) + list(target)])
    out = model(input_ids=ids, attention_mask=torch.ones_like(ids), logits_to_keep=len(target) + 1)
    logits = out.logits[0, :-1].float()
    return torch.log_softmax(logits, dim=-1).gather(-1, torch.tensor(list(target))[:, None]).squeeze(-1)


def sft_loss(model: Any, ex: Example) -> Any:
    """Mean negative log-likelihood of the target (reply) tokens."""
    return -target_logps(model, ex.prompt, ex.target).mean()


def mean_loss(model: Any, examples: Sequence[Example], loss_fn: Callable[[Any, Any], Any]) -> float:
    import torch

    model.eval()
    with torch.no_grad():
        return sum(float(loss_fn(model, ex)) for ex in examples) / max(1, len(examples))


def train_loop(
    base: BaseModel,
    lora: LoraSettings,
    examples: Sequence[Any],
    loss_fn: Callable[[Any, Any], Any],
    *,
    lr: float,
    epochs: int,
    max_steps: int | None,
    seed: int,
    eval_loss: bool,
) -> TrainResult:
    """Train a fresh adapter on ``examples`` (batch size 1, AdamW, constant lr) and return its weights.

    It runs ``epochs`` shuffled passes, or exactly ``max_steps`` steps when that is set.

    ``loss_fn(model, example)`` gives the loss of one example. The adapter is taken off the base
    model when the loop ends.
    """
    import torch

    if not examples:
        raise ValueError("no training examples")
    total = epochs * len(examples) if max_steps is None else max_steps
    gen = torch.Generator().manual_seed(seed)
    t0 = time.perf_counter()
    with with_adapter(base, lora, seed=seed) as pm:
        before = mean_loss(pm, examples, loss_fn) if eval_loss else None
        params = [p for p in pm.parameters() if p.requires_grad]
        opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.0)
        losses: list[float] = []
        pm.train()
        while len(losses) < total:
            for i in torch.randperm(len(examples), generator=gen).tolist():
                if len(losses) >= total:
                    break
                loss = loss_fn(pm, examples[i])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                losses.append(float(loss.detach()))
        after = mean_loss(pm, examples, loss_fn) if eval_loss else None
        state = adapter_state(pm)
    return TrainResult(
        state=state,
        losses=losses,
        steps=len(losses),
        seconds=time.perf_counter() - t0,
        loss_before=before,
        loss_after=after,
    )


def train_params(
    method: str,
    settings: TrainSettings,
    base: BaseModel,
    lr: float,
    result: TrainResult,
    n_examples: int,
    **more: Any,
) -> dict[str, Any]:
    """The hyperparameters and training record stored with every prediction."""
    # mean step loss over the first and the last pass (or half of the steps, if fewer)
    per_epoch = min(n_examples, max(1, len(result.losses) // 2)) if result.losses else 0
    where = base.source.describe() if base.source is not None else {"base_model": base.key}
    return {
        "method": method,
        **where,
        "dtype": base.dtype,
        "lora": settings.lora().as_dict(),
        "optimizer": "AdamW",
        "lr": lr,
        "lr_schedule": "constant",
        "batch_size": 1,
        "epochs": settings.epochs,
        "max_steps": settings.max_steps,
        "steps": result.steps,
        "examples": n_examples,
        "context_turns": settings.context_turns,
        "max_len": settings.max_len,
        "train_seconds": round(result.seconds, 2),
        "loss_first": round(sum(result.losses[:per_epoch]) / max(1, per_epoch), 4) if per_epoch else None,
        "loss_last": round(sum(result.losses[-per_epoch:]) / max(1, per_epoch), 4) if per_epoch else None,
        "loss_before": result.loss_before,
        "loss_after": result.loss_after,
        "step_losses": [round(x, 4) for x in result.losses],
        **result.extra,
        **more,
    }


def item_seed(seed: int, item: TestItem) -> int:
    return seed * 10_007 + item.day * 101 + item.idx


def history_seed(seed: int, position: int) -> int:
    return seed * 10_007 + 7_919 + position


def completion_of(gen: Generated, model_name: str, *, cached: bool = False, **raw: Any) -> Completion:
    """A transformers generation as a :class:`Completion` (tokens and latency as measured)."""
    return Completion(
        text=gen.text,
        model=model_name,
        prompt_tokens=gen.prompt_tokens,
        completion_tokens=gen.completion_tokens,
        latency_s=0.0 if cached else gen.latency_s,
        raw={**raw, **({"cached": True} if cached else {})},
    )


def make_prediction(
    gen: Generated, names: Sequence[str], model_name: str, params: dict[str, Any]
) -> Prediction:
    """The cleaned prediction of one generation; the cleaning is the prompting methods' own."""
    text = clean_reply(gen.text, npc_names=names)
    return Prediction(
        text=text,
        raw=gen.text,
        prompt=gen.prompt,
        completions=[completion_of(gen, model_name, params=params)],
        flags=[] if text.strip() else ["empty"],
        params=params,
    )


class AdapterPredictor:
    """Generates day-5 replies with one user's trained adapter on the shared base model.

    ``params`` holds the training hyperparameters and record and the generation settings used; it
    is the predictor's ``fit_info`` (stored per user) and each prediction's ``params`` (stored with
    every prediction). ``fit_completions`` are the base model's own generations made while fitting
    (DPO's rejected replies, the Aligner's drafts), so their tokens count towards the fit.
    """

    def __init__(
        self,
        base: BaseModel,
        settings: TrainSettings,
        ctx: MethodContext,
        state: dict[str, Any],
        names: Sequence[str],
        params: dict[str, Any],
        fit_completions: Sequence[Completion] = (),
    ) -> None:
        self.base = base
        self.settings = settings
        self.state = state
        self.names = list(names)
        self.system = housemate_system(self.names)
        self.seed = ctx.seed
        self.temperature = ctx.temperature
        self.top_p = ctx.top_p
        self.max_new_tokens = settings.max_new_tokens or ctx.max_tokens
        self.fit_completions = list(fit_completions)
        self.params = {
            **params,
            "max_new_tokens": self.max_new_tokens,
            "temperature": self.temperature,
            "top_p": self.top_p,
            "seed": ctx.seed,
        }

    @property
    def fit_info(self) -> dict[str, Any]:
        return dict(self.params)

    def messages(self, item: TestItem) -> list[Message]:
        return chat_messages(
            self.system, item_context(item, self.settings.context_turns), item.npc, item.message
        )

    def _predict(self, item: TestItem) -> Prediction:
        set_threads(self.settings.threads)
        with with_adapter(self.base, self.settings.lora(), self.state, seed=self.seed) as pm:
            gen = generate(
                self.base,
                pm,
                self.messages(item),
                max_new_tokens=self.max_new_tokens,
                temperature=self.temperature,
                top_p=self.top_p,
                seed=item_seed(self.seed, item),
            )
        return make_prediction(
            gen, [*self.names, item.npc], f"{self.base.name}+{self.params['method']}", self.params
        )

    async def predict(self, item: TestItem) -> Prediction:
        return await asyncio.to_thread(self._predict, item)


def sft_examples(base: BaseModel, user: UserTask, settings: TrainSettings) -> list[Example]:
    """The user's days 1-4 as chat examples with the loss on the real reply."""
    system = housemate_system(npc_names(user))
    out = []
    for turn, context in day_contexts(user.history, settings.context_turns):
        if not turn.response.strip():
            continue

        def make(ctx: Sequence[HistoryTurn], turn: HistoryTurn = turn) -> list[Message]:
            return chat_messages(system, ctx, turn.npc, turn.message)

        out.append(build_example(base, make, context, turn.response.strip(), settings.max_len))
    return out


class TrainedMethod(MethodBase):
    """What the runner asks a parameter-updating method before it starts any work."""

    name: str
    trains = True

    def check_options(self, extra: dict[str, Any]) -> None:
        """Raise ``ValueError`` (pydantic's ValidationError is one) on bad training options."""
        TrainSettings.from_extra(extra)

    def check_model(self, model_spec: str) -> None:
        """Raise ``ValueError`` when ``model_spec`` has no local weights to train (an API model)."""
        source_for_spec(model_spec, method=self.name)


@register("lora")
class LoraMethod(TrainedMethod):
    name = "lora"
    description = "Per-user LoRA adapter on the local model, trained on days 1-4 (loss on the replies)"
    trains = True
    default_lr = 2e-4

    def _fit(self, user: UserTask, ctx: MethodContext) -> AdapterPredictor:
        settings = TrainSettings.from_extra(ctx.extra)
        base = settings.load(ctx.model_spec, method=self.name)
        lr = settings.lr or self.default_lr
        examples = sft_examples(base, user, settings)
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
        params = train_params(self.name, settings, base, lr, result, len(examples))
        return AdapterPredictor(base, settings, ctx, result.state, npc_names(user), params)

    async def fit(self, user: UserTask, ctx: MethodContext) -> AdapterPredictor:
        return await asyncio.to_thread(self._fit, user, ctx)
