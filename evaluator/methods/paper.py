"""The paper protocol's plain prompting methods (the YNTP-100 paper's Appendix E structure; prompt
text in :mod:`evaluator.methods.paper_prompts`):

- ``few-shot``: the days 1-4 exchanges as demonstrations, nothing measured or inferred;
- ``few-shot-mbti``: the same plus the MBTI ratios the model infers from the history;
- ``cot``: style labels (tone, length, emotion, interpersonal distance) inferred from the
  replies alone, put in the system prompt, and the reply written under them with the
  demonstrations, its reasoning kept out of the output.

``zero-shot`` is shared with the sharehouse protocol (:mod:`evaluator.methods.prompting`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from functools import partial

from evaluator.methods import paper_prompts as pp
from evaluator.methods.base import MethodBase, MethodContext, TestItem, UserTask, register
from evaluator.methods.prompting import PromptPredictor, describe_mbti, infer_mbti, infer_style, mbti_type
from evaluator.methods.promptkit import all_names
from evaluator.protocols import PAPER


def _predictor(
    user: UserTask, ctx: MethodContext, system: str, sections: Sequence[tuple[str, str]], info: dict
) -> PromptPredictor:
    fixed = tuple(sections)

    def request(item: TestItem) -> str:
        return pp.with_inputs(fixed, item)

    # the demonstrations' question label stops a reply that runs on into a made-up exchange
    names = [*all_names(user), pp.QUESTION_LABEL]
    return PromptPredictor(ctx, system, user.language, names, request, info)


async def _few_shot(user: UserTask, ctx: MethodContext) -> PromptPredictor:
    demos = ("Earlier exchanges", pp.exchanges(user.history, ctx))
    return _predictor(user, ctx, pp.few_shot_system(all_names(user)), [demos], {})


async def _few_shot_mbti(user: UserTask, ctx: MethodContext) -> PromptPredictor:
    ratios = await infer_mbti(user, ctx)
    sections = [
        ("Your MBTI profile", describe_mbti(ratios)),
        ("Earlier exchanges", pp.exchanges(user.history, ctx)),
    ]
    info = {"mbti": ratios, "type": mbti_type(ratios)}
    return _predictor(user, ctx, pp.mbti_system(all_names(user)), sections, info)


async def _cot(user: UserTask, ctx: MethodContext) -> PromptPredictor:
    labels = await infer_style(user, ctx)
    demos = ("Earlier exchanges", pp.exchanges(user.history, ctx))
    return _predictor(user, ctx, pp.cot_system(all_names(user), labels), [demos], {"style": labels})


Fit = Callable[[UserTask, MethodContext], Awaitable[PromptPredictor]]


@dataclass(frozen=True)
class PaperMethod(MethodBase):
    """A prompting method of the paper protocol (no training)."""

    name: str
    description: str
    build: Fit
    trains: bool = False
    protocols: tuple[str, ...] = (PAPER,)

    async def fit(self, user: UserTask, ctx: MethodContext) -> PromptPredictor:
        return await self.build(user, ctx)


PAPER_METHODS: dict[str, tuple[str, Fit]] = {
    "few-shot": ("The paper's few-shot: days 1-4 as plain demonstrations (Appendix E structure).", _few_shot),
    "few-shot-mbti": (
        "The paper's few-shot + MBTI: demonstrations plus MBTI ratios the model infers from them.",
        _few_shot_mbti,
    ),
    "cot": (
        "The paper's latent CoT: style labels inferred from the replies alone go in the system prompt, "
        "then a reply with the demonstrations; no reasoning in the output.",
        _cot,
    ),
}

for _name, (_description, _build) in PAPER_METHODS.items():
    register(_name)(partial(PaperMethod, _name, _description, _build))
