"""Pieces shared by the prompting methods: the housemate setting, demonstrations, today's context,
the reply instruction, generation settings, JSON inference and the generate → clean → flag step.

Prompts are laid out for prefix reuse: everything that depends only on the user goes in the
system message, and the day-5 message comes last, so consecutive predictions for one user share
their prompt prefix (the local backend then skips re-reading it).

``ctx.extra`` options read here: ``max_demos`` (keep the last N history turns as demonstrations),
``max_message_chars`` (shorten long NPC messages in demonstrations, default 400),
``context_turns`` (earlier day-5 turns shown, default 3), ``inference_temperature`` (for the
JSON/profile steps, default 0.6), ``inference_max_tokens`` (default 256; at least 96 for JSON),
``inference_top_p`` (default :data:`INFERENCE_TOP_P`). A protocol (:mod:`evaluator.protocols`)
may set these for a run.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from typing import Any

from evaluator.methods.base import HistoryTurn, MethodContext, Prediction, TestItem, UserTask
from evaluator.methods.clean import clean_and_flag
from sharehouse.llm.base import Completion, GenParams, Message

LANGUAGE_NAMES: dict[str, str] = {"en": "English", "ja": "Japanese", "zh": "Simplified Chinese"}
SELF_LABEL = "You"
JSON_MIN_TOKENS = 96  # the JSON steps' schemas are bounded; a cut-off object would be invalid
INFERENCE_TOP_P: float = GenParams.top_p  # the backend's default


def language_name(code: str) -> str:
    return LANGUAGE_NAMES.get(code, code)


def housemates(turns: Iterable[HistoryTurn | TestItem]) -> list[str]:
    """NPC names in order of first appearance."""
    return list(dict.fromkeys(t.npc for t in turns if t.npc))


def setting(names: Sequence[str], language: str) -> str:
    """Who the model plays: a resident of the shared house, answering in the user's language."""
    who = ", ".join(names) if names else "your housemates"
    return (
        f"You are a resident of a shared house. Your housemates are {who}. Over five days they chat "
        f"with you about everyday life in the house, and you answer each of them in your own voice, "
        f"in {language_name(language)}."
    )


def reply_rules(language: str) -> str:
    return (
        f"Write only your next message, as you would type it in the chat, in {language_name(language)}: "
        f"no name label, no quotation marks, no explanation, no notes about style or reasoning."
    )


def _shorten(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def demos(
    turns: Sequence[HistoryTurn], ctx: MethodContext, *, with_day: bool = True, limit: int | None = None
) -> str:
    """History turns as message → reply pairs (the user's replies verbatim)."""
    keep = limit if limit is not None else ctx.extra.get("max_demos")
    chosen = list(turns)[-int(keep) :] if keep else list(turns)
    width = int(ctx.extra.get("max_message_chars", 400))
    blocks = []
    for t in chosen:
        day = f"[day {t.day}] " if with_day else ""
        blocks.append(f"{day}{t.npc}: {_shorten(t.message, width)}\n{SELF_LABEL}: {t.response}")
    return "\n\n".join(blocks)


def replies_only(turns: Sequence[HistoryTurn], ctx: MethodContext) -> str:
    """The user's replies alone, one per line (for steps that must not see the NPC side)."""
    keep = ctx.extra.get("max_demos")
    chosen = list(turns)[-int(keep) :] if keep else list(turns)
    return "\n".join(f"- {t.response}" for t in chosen)


def today(item: TestItem, ctx: MethodContext) -> str:
    """The request for one day-5 message, with the earlier turns of day 5 when there are any."""
    n = int(ctx.extra.get("context_turns", 3))
    earlier = list(item.context)[-n:] if n > 0 else []
    width = int(ctx.extra.get("max_message_chars", 400))
    parts = []
    if earlier:
        lines = [f"{t.npc}: {_shorten(t.message, width)}\n{SELF_LABEL}: {t.response}" for t in earlier]
        parts.append("Earlier today:\n" + "\n\n".join(lines))
    parts.append(f"Now {item.npc} says to you:\n{item.message}")
    parts.append(f"Your reply to {item.npc}:")
    return "\n\n".join(parts)


def reply_params(ctx: MethodContext, item: TestItem | None = None, names: Sequence[str] = ()) -> GenParams:
    stops = [f"\n{n}:" for n in names if n] + [f"\n{SELF_LABEL}:"]
    return GenParams(
        max_tokens=ctx.max_tokens, temperature=ctx.temperature, top_p=ctx.top_p, seed=ctx.seed, stop=stops
    )


def render(messages: Sequence[Message]) -> str:
    """A readable rendering of chat messages (stored as the prompt, hashed for audits)."""
    return "\n\n".join(f"<{m['role']}>\n{m['content']}" for m in messages)


def prompt_sha256(messages: Sequence[Message]) -> str:
    return hashlib.sha256(json.dumps(list(messages), ensure_ascii=False).encode("utf-8")).hexdigest()


async def generate_reply(
    ctx: MethodContext, messages: list[Message], item: TestItem, *, language: str, names: Sequence[str] = ()
) -> Prediction:
    """One reply: call the model, clean the output, flag leaks and refusals."""
    completion = await ctx.model.complete(messages, reply_params(ctx, item, names))
    text, flags = clean_and_flag(
        completion.text, npc_names=[*names, item.npc], language=language, message=item.message
    )
    return Prediction(
        text=text, raw=completion.text, prompt=render(messages), completions=[completion], flags=flags
    )


async def infer_json(
    ctx: MethodContext, messages: list[Message], schema: dict[str, Any]
) -> tuple[dict[str, Any], Completion]:
    """A JSON object matching ``schema`` (the backend enforces it; retried there when malformed)."""
    params = GenParams(
        max_tokens=max(JSON_MIN_TOKENS, int(ctx.extra.get("inference_max_tokens", 256))),
        temperature=float(ctx.extra.get("inference_temperature", 0.6)),
        top_p=float(ctx.extra.get("inference_top_p", INFERENCE_TOP_P)),
        seed=ctx.seed,
        json_schema=schema,
    )
    completion = await ctx.model.complete(messages, params)
    data = json.loads(completion.text)
    if not isinstance(data, dict):
        raise ValueError(f"expected a JSON object, got {completion.text[:120]!r}")
    return data, completion


async def infer_text(
    ctx: MethodContext, messages: list[Message], *, max_tokens: int | None = None
) -> Completion:
    """A free-text intermediate step (profile digestion and writing)."""
    params = GenParams(
        max_tokens=max_tokens or int(ctx.extra.get("inference_max_tokens", 256)),
        temperature=float(ctx.extra.get("inference_temperature", 0.6)),
        top_p=float(ctx.extra.get("inference_top_p", INFERENCE_TOP_P)),
        seed=ctx.seed,
    )
    return await ctx.model.complete(messages, params)


def all_names(user: UserTask, *, with_history: bool = True) -> list[str]:
    turns: list[HistoryTurn | TestItem] = list(user.history) if with_history else []
    return housemates([*turns, *user.tests])
