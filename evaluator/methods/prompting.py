"""Prompting methods of the ``sharehouse`` protocol: zero-shot, few-shot with measured style
statistics, that plus an inferred MBTI profile, and a two-step chain of thought whose
intermediate labels never reach the output. The paper's plain versions are in
:mod:`evaluator.methods.paper`; both share the MBTI and style-label inference steps here.

- ``zero-shot``: the housemate setting and the day-5 message only; nothing of the user (under
  the ``paper`` protocol it writes the paper's zero-shot prompt instead).
- ``few-shot+style``: days 1–4 as message → reply demonstrations, plus style statistics computed
  from the replies (length, pronouns, punctuation, register) stated explicitly.
- ``few-shot-mbti+style``: few-shot+style plus MBTI ratios per dimension inferred by the model from
  the history (JSON-schema output).
- ``cot+style``: style labels (tone, length, emotion, interpersonal distance) inferred from the
  user's replies alone (JSON schema), then a reply written under them with the demonstrations
  and the style statistics.

The ``+style`` methods (and every method of this protocol) also show the earlier day-5 turns of
the conversation, with the person's real replies, as the live chat would (``context_turns``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from evaluator.methods import paper_prompts
from evaluator.methods.base import MethodBase, MethodContext, Prediction, TestItem, UserTask, register
from evaluator.methods.promptkit import (
    all_names,
    demos,
    generate_reply,
    infer_json,
    language_name,
    replies_only,
    reply_rules,
    setting,
    today,
)
from evaluator.methods.style import describe_style, style_stats
from evaluator.protocols import PAPER, SHAREHOUSE
from sharehouse.llm.base import Message


@dataclass
class PromptPredictor:
    """Replies to day-5 messages under a fixed, per-user system prompt."""

    ctx: MethodContext
    system: str
    language: str
    names: list[str]
    request: Callable[[TestItem], str]
    fit_info: dict[str, Any] = field(default_factory=dict)
    fit_completions: list[Any] = field(default_factory=list)

    def messages(self, item: TestItem) -> list[Message]:
        return [{"role": "system", "content": self.system}, {"role": "user", "content": self.request(item)}]

    async def predict(self, item: TestItem) -> Prediction:
        return await generate_reply(
            self.ctx, self.messages(item), item, language=self.language, names=self.names
        )


def _bare_request(item: TestItem) -> str:
    return f"{item.npc} says to you:\n{item.message}\n\nYour reply to {item.npc}:"


def few_shot_system(user: UserTask, ctx: MethodContext, *, extra_sections: tuple[str, ...] = ()) -> str:
    """Setting, style statistics, any extra sections, the demonstrations, then the rules."""
    stats = style_stats([t.response for t in user.history], user.language)
    parts = [
        setting(all_names(user), user.language),
        "Below are your own earlier exchanges with your housemates (days 1-4); lines starting "
        "with 'You:' are exactly what you wrote. Imitate how you write: the same length, the same "
        "first-person words, the same punctuation and capitalisation, the same level of formality, "
        "and the same attitudes and values.",
        "Your writing habits, measured on those replies:\n" + describe_style(stats),
        *extra_sections,
        "Earlier exchanges:\n" + demos(user.history, ctx),
        reply_rules(user.language) + " Keep to your usual length above all.",
    ]
    return "\n\n".join(parts)


@register("zero-shot")
class ZeroShot(MethodBase):
    name = "zero-shot"
    description = (
        "The share-house setting and the day-5 message only; no user history (each protocol's own prompt)."
    )
    trains = False

    async def fit(self, user: UserTask, ctx: MethodContext) -> PromptPredictor:
        if ctx.protocol == PAPER:  # the paper names every resident, as its few-shot prompt does
            residents = all_names(user)
            system = paper_prompts.zero_shot_system(residents)
            return PromptPredictor(ctx, system, user.language, residents, paper_prompts.request)
        names = all_names(user, with_history=False)
        system = "\n\n".join([setting(names, user.language), reply_rules(user.language)])
        return PromptPredictor(ctx, system, user.language, names, _bare_request)


@register("few-shot+style")
class FewShotStyle(MethodBase):
    name = "few-shot+style"
    description = (
        "Days 1-4 as demonstrations plus measured style statistics (length, pronouns, punctuation, "
        "register) and the earlier day-5 turns."
    )
    trains = False
    protocols = (SHAREHOUSE,)

    async def fit(self, user: UserTask, ctx: MethodContext) -> PromptPredictor:
        system = few_shot_system(user, ctx)
        return PromptPredictor(ctx, system, user.language, all_names(user), lambda item: today(item, ctx))


MBTI_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "extraversion_percent": {"type": "integer"},
        "sensing_percent": {"type": "integer"},
        "thinking_percent": {"type": "integer"},
        "judging_percent": {"type": "integer"},
    },
    "required": ["extraversion_percent", "sensing_percent", "thinking_percent", "judging_percent"],
}
_MBTI_AXES = (
    ("extraversion_percent", "E", "I"),
    ("sensing_percent", "S", "N"),
    ("thinking_percent", "T", "F"),
    ("judging_percent", "J", "P"),
)


async def infer_mbti(user: UserTask, ctx: MethodContext) -> dict[str, int]:
    """The model's MBTI ratios for the user, from the days 1-4 exchanges."""
    data, _ = await infer_json(ctx, _mbti_messages(user, ctx), MBTI_SCHEMA)
    return mbti_ratios(data)


async def infer_style(user: UserTask, ctx: MethodContext) -> dict[str, str]:
    """The model's four style labels for the user, from their replies alone."""
    data, _ = await infer_json(ctx, _style_messages(user, ctx), STYLE_SCHEMA)
    return style_labels(data)


def mbti_ratios(data: dict[str, Any]) -> dict[str, int]:
    """The four first-pole percentages, clamped to 0-100 (a missing or bad value counts as 50)."""
    out = {}
    for key, pole, _ in _MBTI_AXES:
        try:
            value = int(round(float(data.get(key, 50))))
        except (TypeError, ValueError):
            value = 50
        out[pole] = max(0, min(100, value))
    return out


def mbti_type(ratios: dict[str, int]) -> str:
    return "".join(a if ratios[a] >= 50 else b for _, a, b in _MBTI_AXES)


def describe_mbti(ratios: dict[str, int]) -> str:
    axes = "; ".join(f"{a} {ratios[a]}% / {b} {100 - ratios[a]}%" for _, a, b in _MBTI_AXES)
    return f"{mbti_type(ratios)} ({axes})"


def _mbti_messages(user: UserTask, ctx: MethodContext) -> list[Message]:
    probes = [t.mbti for t in user.history if t.mbti]
    hint = (
        f" Some questions were written to probe particular dimensions ({', '.join(sorted(set(probes)))})."
        if probes
        else ""
    )
    return [
        {
            "role": "system",
            "content": "You estimate personality preferences from how someone chats. Answer with JSON only.",
        },
        {
            "role": "user",
            "content": (
                "These are chat exchanges between a person ('You') and their housemates."
                + hint
                + "\n\n"
                + demos(user.history, ctx)
                + "\n\nEstimate this person's MBTI preferences from their replies. For each dimension give "
                "the percentage (0-100) toward the first pole: extraversion (vs introversion), sensing "
                "(vs intuition), thinking (vs feeling), judging (vs perceiving)."
            ),
        },
    ]


@register("few-shot-mbti+style")
class FewShotMbtiStyle(MethodBase):
    name = "few-shot-mbti+style"
    description = (
        "few-shot+style plus an MBTI profile (a ratio per dimension) inferred from the history by the model."
    )
    trains = False
    protocols = (SHAREHOUSE,)

    async def fit(self, user: UserTask, ctx: MethodContext) -> PromptPredictor:
        ratios = await infer_mbti(user, ctx)
        section = (
            f"Your MBTI profile (inferred from your earlier replies): {describe_mbti(ratios)}. "
            "Let it shape what you say and how you say it, together with the examples."
        )
        system = few_shot_system(user, ctx, extra_sections=(section,))
        info = {"mbti": ratios, "type": mbti_type(ratios)}
        return PromptPredictor(
            ctx, system, user.language, all_names(user), lambda item: today(item, ctx), info
        )


TONES = (
    "warm", "cheerful", "playful", "enthusiastic", "calm", "neutral", "matter-of-fact", "polite",
    "formal", "thoughtful", "reserved", "blunt", "sarcastic",
)  # fmt: skip
EMOTIONS = (
    "positive",
    "excited",
    "content",
    "neutral",
    "reserved",
    "anxious",
    "irritated",
    "negative",
    "mixed",
)
# Closed label sets keep the JSON short and bounded (free strings can run past the token limit).
STYLE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "tone": {"type": "string", "enum": list(TONES)},
        "length": {"type": "string", "enum": ["very short", "short", "medium", "long"]},
        "emotion": {"type": "string", "enum": list(EMOTIONS)},
        "interpersonal_distance": {"type": "string", "enum": ["close", "friendly", "polite", "distant"]},
    },
    "required": ["tone", "length", "emotion", "interpersonal_distance"],
}


def _style_messages(user: UserTask, ctx: MethodContext) -> list[Message]:
    return [
        {
            "role": "system",
            "content": "You describe how a person writes chat messages. Answer with JSON only.",
        },
        {
            "role": "user",
            "content": (
                f"Here are chat messages one person wrote (in {language_name(user.language)}), one per line:\n"
                + replies_only(user.history, ctx)
                + "\n\nDescribe their writing with four labels: tone, typical length, the emotion they usually "
                "show, and their interpersonal distance toward the reader."
            ),
        },
    ]


def style_labels(data: dict[str, Any]) -> dict[str, str]:
    """The four labels as short strings (missing ones become 'unclear')."""
    out = {}
    for key in ("tone", "length", "emotion", "interpersonal_distance"):
        value = " ".join(str(data.get(key) or "").split())[:60]
        out[key] = value or "unclear"
    return out


@register("cot+style")
class ChainOfThoughtStyle(MethodBase):
    name = "cot+style"
    description = (
        "Two steps: infer style labels (tone, length, emotion, distance) from the user's replies, "
        "then reply under them with the demonstrations and the measured style statistics; no "
        "reasoning in the output."
    )
    trains = False
    protocols = (SHAREHOUSE,)

    async def fit(self, user: UserTask, ctx: MethodContext) -> PromptPredictor:
        labels = await infer_style(user, ctx)
        section = (
            "How you write (inferred from your own replies):\n"
            f"- tone: {labels['tone']}\n- length: {labels['length']}\n- emotion: {labels['emotion']}\n"
            f"- interpersonal distance: {labels['interpersonal_distance']}\n"
            "Think privately about what you would answer and how, under these labels; the reply you "
            "write must contain none of that thinking."
        )
        system = few_shot_system(user, ctx, extra_sections=(section,))
        return PromptPredictor(
            ctx, system, user.language, all_names(user), lambda item: today(item, ctx), {"style": labels}
        )
