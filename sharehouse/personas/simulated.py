"""A synthetic participant: an LLM playing one persona through the five days."""

from __future__ import annotations

import dataclasses
import random
import zlib

from sharehouse.engine.users import TurnContext, UserReply
from sharehouse.llm.base import ChatModel, Completion, GenParams
from sharehouse.personas.cleaning import add_typos, clean_reply, fallback_reply, is_repeat, is_usable
from sharehouse.personas.models import Persona
from sharehouse.personas.prompt import WARMUP, build_messages, max_tokens_for, reminder, stop_sequences

# The YNTP-100 study's housemates: kept as stop names beside the scenario's own (``ctx.housemates``),
# since a model that has seen that data may start a line with one of them.
HOUSEMATES: tuple[str, ...] = ("DaVinci", "Donatello", "Michelangelo", "Raffaello")


class SimulatedUser:
    """Implements the engine's ``User`` protocol by prompting ``model`` with the persona.

    Each turn: one generation; if nothing usable comes back (empty, wrong script, AI disclaimer) or
    it copies a style sample or an earlier reply, one retry at a higher temperature; then the copy
    if there was one, else a short reply from the persona's samples (counted in :attr:`fallbacks`). Errors raised by
    the model (``LLMError``) are not hidden: they propagate to the runner.
    """

    def __init__(
        self,
        persona: Persona,
        model: ChatModel,
        params: GenParams | None = None,
        seed: int | None = None,
        *,
        max_history_turns: int = 12,
        history_step: int = 4,
        max_history_chars: int | None = 4000,
        retry_temperature_boost: float = 0.35,
    ) -> None:
        self.persona = persona
        self.model = model
        self.seed = seed
        self.max_history_turns = max_history_turns
        self.history_step = history_step
        self.max_history_chars = max_history_chars
        self.retry_temperature_boost = retry_temperature_boost
        self._params = params or GenParams(max_tokens=max_tokens_for(persona), temperature=0.8, top_p=0.92)
        base = seed if seed is not None else zlib.crc32(persona.id.encode("utf-8"))
        self._rng = random.Random(base)
        self.calls = 0
        self.retries = 0
        self.fallbacks = 0
        self.repeats = 0
        # Raw model texts of the latest turn's attempts (for diagnostics and logs).
        self.last_raw: list[str] = []

    def _params_for(self, ctx: TurnContext, attempt: int) -> GenParams:
        p = self._params
        seed = p.seed
        if seed is None and self.seed is not None:
            seed = self.seed * 100_003 + ctx.day * 1_009 + len(ctx.history) * 7 + attempt
        temperature = (
            p.temperature if attempt == 0 else min(1.4, p.temperature + self.retry_temperature_boost)
        )
        stops = list(dict.fromkeys([*p.stop, *stop_sequences(ctx, (*ctx.housemates, *HOUSEMATES))]))
        return dataclasses.replace(p, seed=seed, temperature=temperature, stop=stops)

    def _finish(self, raw: str, ctx: TurnContext) -> str:
        names = tuple(
            dict.fromkeys([ctx.npc_name, *ctx.housemates, *HOUSEMATES, *(t.npc_name for t in ctx.history)])
        )
        return clean_reply(
            raw,
            self.persona,
            npc_names=names,
            echoes=(reminder(self.persona), *WARMUP[self.persona.language][1]),
            npc_message=ctx.message,
        )

    async def reply(self, ctx: TurnContext) -> UserReply:
        messages = build_messages(
            self.persona,
            ctx,
            max_history_turns=self.max_history_turns,
            history_step=self.history_step,
            max_history_chars=self.max_history_chars,
        )
        self.last_raw = []
        previous = [*self.persona.style.sample_replies, *(t.response for t in ctx.history)]
        copied: UserReply | None = None
        for attempt in range(2):
            if attempt:
                self.retries += 1
            self.calls += 1
            completion: Completion = await self.model.complete(messages, self._params_for(ctx, attempt))
            self.last_raw.append(completion.text)
            text = self._finish(completion.text, ctx)
            if not is_usable(text, self.persona.language):
                continue
            if self.persona.language == "en" and self.persona.style.typo_rate > 0:
                text = add_typos(text, self.persona.style.typo_rate, self._rng)
            reply = UserReply(text=text, completion=completion)
            # A copy of a style sample or of an earlier reply gets one hotter retry; kept if that fails.
            if attempt == 0 and is_repeat(text, previous):
                self.repeats += 1
                copied = reply
                continue
            return reply
        if copied is not None:
            return copied
        text = fallback_reply(self.persona, self.fallbacks)
        self.fallbacks += 1
        return UserReply(text=text, completion=None, fallback=True)
