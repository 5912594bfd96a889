"""Optional LLM-judged content and style similarity (1–5), the earlier benchmark's M3/M5 variant.

One chat call per pair rates both scales against a short rubric and must answer with JSON
``{"content": n, "style": n}``. Any model behind :class:`sharehouse.llm.base.ChatModel` works;
a reply that cannot be read gives ``None`` for that pair rather than a made-up number.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence

from pydantic import BaseModel, Field, ValidationError

from sharehouse.llm.base import ChatModel, GenParams, LLMError, Message

JUDGE_SCHEMA: dict[str, object] = {
    "type": "object",
    "properties": {
        "content": {"type": "integer", "minimum": 1, "maximum": 5},
        "style": {"type": "integer", "minimum": 1, "maximum": 5},
    },
    "required": ["content", "style"],
    "additionalProperties": False,
}

_SYSTEM = (
    "You compare two chat replies written to the same message: the reply a person really gave "
    "(REAL) and a reply a system guessed for them (GUESS). Rate two things from 1 to 5.\n"
    "content: does GUESS say the same things as REAL? 5 = same points and intent; 4 = mostly the "
    "same, small gaps; 3 = overlapping but with clear differences; 2 = only the topic in common; "
    "1 = unrelated or opposite.\n"
    "style: does GUESS sound like the same person as REAL (and as their earlier replies, if "
    "shown)? Judge length, tone, formality, punctuation, emoji and wording, not the content. "
    "5 = indistinguishable; 3 = partly alike; 1 = clearly someone else.\n"
    'Answer with JSON only: {"content": <1-5>, "style": <1-5>}.'
)
_MAX_HISTORY = 6
_MAX_CHARS = 1200


class JudgeScores(BaseModel):
    content: int = Field(ge=1, le=5)
    style: int = Field(ge=1, le=5)


def judge_messages(
    message: str, reference: str, prediction: str, history: Sequence[str] | None = None
) -> list[Message]:
    """The chat messages for one judgement (texts are clipped to keep prompts short)."""
    parts = [
        f"MESSAGE:\n{message[:_MAX_CHARS]}",
        f"REAL:\n{reference[:_MAX_CHARS]}",
        f"GUESS:\n{prediction[:_MAX_CHARS]}",
    ]
    if history:
        shown = "\n".join(f"- {h[:300]}" for h in list(history)[-_MAX_HISTORY:])
        parts.append(f"EARLIER REPLIES OF THE SAME PERSON:\n{shown}")
    return [{"role": "system", "content": _SYSTEM}, {"role": "user", "content": "\n\n".join(parts)}]


def parse_judgement(text: str) -> JudgeScores | None:
    """The scores in a reply, or None when it is not the JSON asked for."""
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end <= start:
        return None
    try:
        return JudgeScores.model_validate(json.loads(text[start : end + 1]))
    except (ValueError, ValidationError):
        return None


async def judge_pair(
    model: ChatModel, message: str, reference: str, prediction: str, history: Sequence[str] | None = None
) -> JudgeScores | None:
    params = GenParams(max_tokens=40, temperature=0.0, seed=0, json_schema=JUDGE_SCHEMA)
    try:
        done = await model.complete(judge_messages(message, reference, prediction, history), params)
    except LLMError:
        return None
    return parse_judgement(done.text)


async def judge_pairs(
    model: ChatModel,
    items: Sequence[tuple[str, str, str, Sequence[str] | None]],
    *,
    concurrency: int = 1,
) -> list[JudgeScores | None]:
    """Judge (message, reference, prediction, history) tuples, at most ``concurrency`` at a time."""
    gate = asyncio.Semaphore(max(1, concurrency))

    async def one(item: tuple[str, str, str, Sequence[str] | None]) -> JudgeScores | None:
        async with gate:
            return await judge_pair(model, *item)

    return list(await asyncio.gather(*(one(it) for it in items)))
