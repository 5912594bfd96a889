"""A synthetic participant: an LLM playing one persona through the five days."""

from __future__ import annotations

import asyncio
import dataclasses
import random
import zlib
from typing import Protocol

from sharehouse.engine.users import TurnContext, UserReply
from sharehouse.llm.base import ChatModel, Completion, GenParams, Message
from sharehouse.personas.cleaning import (
    COPY_SIMILARITY,
    add_typos,
    clean_reply,
    copies_whole,
    fallback_reply,
    is_repeat,
    is_usable,
    join_sentences,
    measure,
    sentence_runs,
    similarity,
    trim_to_length,
)
from sharehouse.personas.models import Persona
from sharehouse.personas.prompt import build_messages, max_tokens_for, reminder, stop_sequences
from sharehouse.personas.stance import (
    Stance,
    asks_back,
    more_note,
    private_note,
    stance_for,
    taken_and_other,
    target_length,
)
from sharehouse.textclean import (
    clauses,
    drop_dangling,
    drop_near_repeated_sentences,
    drop_opener,
    drop_repeated_clauses,
    drop_reused_phrases,
    opener,
    phrases,
    repeats_a_sentence,
    sentences,
    share_in,
    start,
)

# The YNTP-100 study's housemates: kept as stop names beside the scenario's own (``ctx.housemates``),
# since a model that has seen that data may start a line with one of them.
HOUSEMATES: tuple[str, ...] = ("DaVinci", "Donatello", "Michelangelo", "Raffaello")

#: Similarity to an earlier reply or a style example from which an attempt is thrown away.
NEAR_COPY = 0.75
#: Share of an attempt's words (CJK: character pairs) found in the stance's option from which it
#: only restates the option, and is resampled.
OPTION_COPY = 0.8
#: Share of the aimed length under which an attempt is resampled as too short.
THIN_LENGTH = 0.4
#: Sampling when no parameters are handed in; ``sharehouse simulate --temperature`` overrides the
#: temperature (its default is the same 0.7, so the benches that drive a user directly match it).
DEFAULT_TEMPERATURE = 0.7
TOP_P = 0.92
#: How much closer in meaning (a cosine difference) an attempt may be to the side its stance did
#: not take than to the one it took before it is resampled: it would say the opposite of the
#: label stored with it ("我会坐下来好好做计划" on a stance to keep things open, run q-d5-r9).
AGAINST_STANCE = 0.05
#: How many first attempts are resampled for opening as an earlier reply of the session did (its
#: first words, :func:`~sharehouse.textclean.start`), and in which languages. Chinese replies did
#: so in .237 of the turns (run q-d5-r16: "我感觉…" in 6 of p-zh-002's 19 replies, "我可能会…" in 6
#: more; the real people .085), .105 with one more try (q-d5-r17). English and Japanese replies
#: open alike no more often than the real people's (en .139 / .150, ja .027 / .061), and in English
#: the hotter retries cost more than they gave (r17: .026 alike, 3 follow-ups in 39 turns against
#: none, "I'm glad I could help" openings). The next attempt stands however it opens: people do
#: begin alike at times.
RESTART_ATTEMPTS = 1
RESTART_LANGUAGES: frozenset[str] = frozenset({"zh"})


class SideMeter(Protocol):
    """Measures which written side of a question a reply is nearer (the check's relevance gate)."""

    def side_margin(self, reply: str, taken: str, other: str, language: str) -> float: ...


class SimulatedUser:
    """Implements the engine's ``User`` protocol by prompting ``model`` with the persona.

    Each turn: the persona's stance on the question is fixed first (:mod:`sharehouse.personas.stance`)
    and handed to the model as a private note with the length to aim for; the model words it. An
    attempt is resampled hotter with another seed, up to ``max_attempts`` in all, when it is
    unusable (empty, wrong script, AI disclaimer), when it repeats an earlier reply or a style
    example, exactly or nearly, or is as a whole one or two running sentences of an earlier
    housemate line (counted in :attr:`repeats`), or when it is thin: only the option's
    own words, or far under the aimed length (counted in :attr:`thin`), or when, with ``sides``
    given, it is nearer in meaning to the side its stance did not take (by :data:`AGAINST_STANCE`;
    counted in :attr:`against`). A first attempt (Chinese) that passes all that but opens with the
    first words of an earlier reply of the session is resampled once (:data:`RESTART_ATTEMPTS`,
    :data:`RESTART_LANGUAGES`; counted in :attr:`restarts`), and kept if no later attempt passes.
    All four are counted in ``UserReply.resampled``. If no attempt passes, the longest thin one is
    kept, else the one least against its stance, else the least similar repeat if it is not a copy,
    else a plain reply built from the stance stands in (``fallback=True``, counted in
    :attr:`fallbacks`). A copy is never kept. What an earlier reply of the session already said is
    dropped: a clause ("I care about family" in every answer; counted in :attr:`clauses_dropped`), a
    clause that reuses a longer phrase of one ("因为我觉得这样可以避免不必要的…"; counted in
    :attr:`phrases_dropped`) and an opening interjection ("Sure, ...", "Absolutely! ..."; counted in
    :attr:`openers_dropped`). A small model repeats itself that way, people do not. A reply far over
    the aimed length ends after its first sentences (counted in :attr:`trimmed`). Errors raised by
    the model (``LLMError``) propagate to the runner.
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
        retry_temperature_boost: float = 0.25,
        max_attempts: int = 3,
        temperature: float | None = None,
        sides: SideMeter | None = None,
    ) -> None:
        self.persona = persona
        self.model = model
        self.sides = sides
        self.seed = seed
        self.max_history_turns = max_history_turns
        self.history_step = history_step
        self.max_history_chars = max_history_chars
        self.retry_temperature_boost = retry_temperature_boost
        self.max_attempts = max(1, max_attempts)
        # The persona's own token budget: a flat one cuts a long-winded persona's replies short
        # (simulate once passed 120 tokens for all, and its Japanese replies ran 15 % shorter).
        self._params = params or GenParams(
            max_tokens=max_tokens_for(persona),
            temperature=DEFAULT_TEMPERATURE if temperature is None else temperature,
            top_p=TOP_P,
        )
        base = seed if seed is not None else zlib.crc32(persona.id.encode("utf-8"))
        self._rng = random.Random(base)
        self.calls = 0
        self.retries = 0
        self.fallbacks = 0
        self.repeats = 0
        self.thin = 0  # attempts resampled as thin: the option's words only, or far too short
        self.against = 0  # attempts resampled as nearer the side their stance did not take
        self.restarts = 0  # first attempts resampled for opening as an earlier reply did
        self.trimmed = 0  # replies far over the aimed length, ended after their first sentences
        self.extended = 0  # thin replies that went on, asked once more for what lies behind them
        self.sentences_dropped = 0  # sentences that said an earlier reply's sentence again in other words
        self.phrases_dropped = 0  # replies that lost a clause reusing a phrase of an earlier reply
        self.clauses_dropped = 0  # replies that lost a clause an earlier reply of the session said
        self.openers_dropped = 0  # replies whose opening interjection an earlier reply already used
        # Raw model texts of the latest turn's attempts (for diagnostics, logs and tests).
        self.last_raw: list[str] = []
        self.last_stance: Stance | None = None

    def _params_for(self, ctx: TurnContext, attempt: int) -> GenParams:
        p = self._params
        seed = p.seed
        if seed is None and self.seed is not None:
            seed = self.seed * 100_003 + ctx.day * 1_009 + len(ctx.history) * 7 + attempt
        elif seed is not None and attempt:
            seed = seed + attempt * 7_919
        temperature = min(1.4, p.temperature + attempt * self.retry_temperature_boost)
        stops = list(dict.fromkeys([*p.stop, *stop_sequences(ctx, (*ctx.housemates, *HOUSEMATES))]))
        return dataclasses.replace(p, seed=seed, temperature=temperature, stop=stops)

    def _thin(self, text: str, stance: Stance | None, length: int) -> bool:
        """A usable attempt that says less than a person would: it only restates the stance's option
        (:data:`OPTION_COPY` of its words are the option's: "みんなの前でオープンに話す" to an
        either/or question), or it is under :data:`THIN_LENGTH` of the ``length`` aimed for."""
        lang = self.persona.language
        if stance is not None and share_in(text, stance.pole) >= OPTION_COPY:
            return True
        return measure(text, lang) < THIN_LENGTH * length

    def _finish(self, raw: str, ctx: TurnContext) -> str:
        names = tuple(
            dict.fromkeys([ctx.npc_name, *ctx.housemates, *HOUSEMATES, *(t.npc_name for t in ctx.history)])
        )
        return clean_reply(
            raw,
            self.persona,
            npc_names=names,
            echoes=(reminder(self.persona), *(ex.question for ex in self.persona.style.style_examples)),
            npc_message=ctx.message,
        )

    async def _side_margin(self, text: str, stance: Stance | None, ctx: TurnContext) -> float | None:
        """How much nearer in meaning ``text`` is to the side its stance took than to the other
        (negative: the other is nearer); None without a meter, a stance or both written sides."""
        if self.sides is None or stance is None or not ctx.poles:
            return None
        both = taken_and_other(ctx.poles, stance.letter)
        if both is None:
            return None
        return await asyncio.to_thread(self.sides.side_margin, text, *both, self.persona.language)

    async def _go_on(
        self,
        messages: list[Message],
        thin: UserReply,
        ctx: TurnContext,
        stance: Stance | None,
        length: int,
        said: set[str],
        previous: list[str],
    ) -> UserReply | None:
        """``thin`` followed by what lies behind it: its text goes back to the model as said, with a
        note asking to go on (one more call; the prompt so far is reused from the model's cache).
        None when the continuation is unusable, repeats the session or the option again."""
        lang = self.persona.language
        left = length - measure(thin.text, lang)
        more: list[Message] = [
            *messages,
            {"role": "assistant", "content": thin.text},
            {"role": "user", "content": more_note(self.persona, left)},
        ]
        self.calls += 1
        completion = await self.model.complete(more, self._params_for(ctx, self.max_attempts))
        self.last_raw.append(completion.text)
        text = self._finish(completion.text, ctx)
        text = drop_dangling(drop_repeated_clauses(text, lang, said), lang)
        if (
            not is_usable(text, lang)
            or measure(text, lang) < THIN_LENGTH * left  # "Sure!" adds nothing
            or is_repeat(text, [*previous, thin.text], NEAR_COPY)
            or repeats_a_sentence(
                text, lang, [k for t in ctx.history for k in sentences(t.response, lang)], ctx.message
            )
            or (stance is not None and share_in(text, stance.pole) >= OPTION_COPY)
        ):
            return None
        joined = trim_to_length(join_sentences(thin.text, text, lang), lang, length)
        self.extended += 1
        first = thin.completion
        used = completion if first is None else dataclasses.replace(
            completion,
            prompt_tokens=first.prompt_tokens + completion.prompt_tokens,
            completion_tokens=first.completion_tokens + completion.completion_tokens,
            latency_s=first.latency_s + completion.latency_s,
        )  # fmt: skip
        return dataclasses.replace(thin, text=joined, completion=used)

    async def reply(self, ctx: TurnContext) -> UserReply:
        key = ctx.state_id or f"day{ctx.day}:{ctx.message[:60]}"
        # The reason leaves out persona details the session's earlier questions brought up (a
        # follow-up of this question keeps the stance it had).
        before = [t.response for t in ctx.history if ctx.state_id is None or t.state_id != ctx.state_id]
        stance = stance_for(self.persona, key, ctx.dimension, ctx.poles, mentioned=before)
        self.last_stance = stance
        length = target_length(self.persona, key, len(ctx.history))
        ask_back = asks_back(self.persona, key, len(ctx.history))
        note = private_note(self.persona, stance, length, ask_back=ask_back)
        messages = build_messages(
            self.persona,
            ctx,
            max_history_turns=self.max_history_turns,
            history_step=self.history_step,
            max_history_chars=self.max_history_chars,
            note=note,
        )
        stance_json = stance.to_json() if stance is not None else None
        self.last_raw = []
        previous = [*self.persona.style.example_texts(), *(t.response for t in ctx.history)]
        # a sentence, or two running, of an earlier housemate line is no reply of the persona's as a
        # whole ("そのようにしたとき、自分の家がより美しくなりました。", a reaction of day 3, as the reply
        # of day 4; a two-sentence reaction as the reply two turns on, run q-d5-r9)
        heard = [run for t in ctx.history for run in sentence_runs(t.message, 2)]
        copyable = [*previous, *heard]
        openers = {opener(t.response, self.persona.language) for t in ctx.history} - {None}
        starts = {start(t.response, self.persona.language) for t in ctx.history} - {None}
        said = {c for t in ctx.history for c in clauses(t.response, self.persona.language)}
        said_sentences = [k for t in ctx.history for k in sentences(t.response, self.persona.language)]
        said_phrases = {k for t in ctx.history for k in phrases(t.response, self.persona.language)}
        repeats: list[tuple[float, UserReply, bool]] = []  # (similarity, reply, a copy before the guards)
        thin: list[tuple[int, UserReply]] = []
        against: list[tuple[float, UserReply]] = []  # (how much nearer its own side, reply)
        alike: UserReply | None = None  # a passing attempt that opened as an earlier reply did
        resampled = 0
        for attempt in range(self.max_attempts):
            if attempt:
                self.retries += 1
            self.calls += 1
            completion: Completion = await self.model.complete(messages, self._params_for(ctx, attempt))
            self.last_raw.append(completion.text)
            text = self._finish(completion.text, ctx)
            if not is_usable(text, self.persona.language):
                continue
            # A copy stays a copy, whatever of it the guards below would drop ("it should be fun." is
            # what is left of an earlier reply said again); an earlier sentence inside a new reply is
            # theirs to drop.
            near_copy = copies_whole(text, copyable, NEAR_COPY)
            copied = copies_whole(text, copyable, COPY_SIMILARITY)
            unsaid = drop_repeated_clauses(text, self.persona.language, said)
            if unsaid != text:  # "I care about family" again: people do not repeat a clause
                text = drop_dangling(unsaid, self.persona.language)
                self.clauses_dropped += 1
            unsaid = drop_near_repeated_sentences(text, self.persona.language, said_sentences, ctx.message)
            if unsaid != text:  # "それが自分自身の成長に繋がりますね" after "自分自身の成長に繋がります"
                text = drop_dangling(unsaid, self.persona.language)
                self.sentences_dropped += 1
            unsaid = drop_reused_phrases(text, self.persona.language, said_phrases, ctx.message)
            if unsaid != text:  # "因为我觉得这样可以避免不必要的…" in answer after answer
                text = drop_dangling(unsaid, self.persona.language)
                self.phrases_dropped += 1
            if opener(text, self.persona.language) in openers:
                text = drop_opener(text, self.persona.language)  # "Sure, ..." once a session is enough
                self.openers_dropped += 1
            trimmed = trim_to_length(text, self.persona.language, length)
            if trimmed != text and not self._thin(trimmed, stance, length):
                text = trimmed  # far over the aimed length: it ends after its first sentences
                self.trimmed += 1
            if self.persona.language == "en" and self.persona.style.typo_rate > 0:
                text = add_typos(text, self.persona.style.typo_rate, self._rng)
            reply = UserReply(text=text, completion=completion, stance=stance_json)
            if (
                near_copy
                or is_repeat(text, previous, NEAR_COPY)
                or repeats_a_sentence(text, self.persona.language, said_sentences, ctx.message)
            ):
                resampled += 1
                self.repeats += 1
                repeats.append((similarity(text, previous), reply, copied))
                continue
            if self._thin(text, stance, length):  # the option's words only, or far too short
                resampled += 1
                self.thin += 1
                thin.append((measure(text, self.persona.language), reply))
                continue
            margin = await self._side_margin(text, stance, ctx)
            if margin is not None and margin < -AGAINST_STANCE:  # it says the other side
                resampled += 1
                self.against += 1
                against.append((margin, reply))
                continue
            if (
                attempt < RESTART_ATTEMPTS
                and attempt + 1 < self.max_attempts
                and self.persona.language in RESTART_LANGUAGES
                and start(text, self.persona.language) in starts
            ):  # "我感觉…" once more: another try may open otherwise
                resampled += 1
                self.restarts += 1
                alike = reply
                continue
            reply.resampled = resampled
            return reply
        if alike is not None:  # it passed all but its opening
            alike.resampled = resampled
            return alike
        if thin:  # the longest of the thin attempts, carried on if it can be, beats a repeat
            _, best = max(thin, key=lambda pair: pair[0])
            best.resampled = resampled
            said |= clauses(best.text, self.persona.language)
            return await self._go_on(messages, best, ctx, stance, length, said, previous) or best
        if against:  # the persona's own words, though nearer the other side
            _, best = max(against, key=lambda pair: pair[0])
            best.resampled = resampled
            return best
        if repeats:
            _, best, copy = min(repeats, key=lambda item: item[0])
            if not copy and not is_repeat(best.text, previous):
                best.resampled = resampled
                return best
        text = fallback_reply(
            self.persona, self.fallbacks, stance.pole if stance is not None else None, previous
        )
        self.fallbacks += 1
        return UserReply(text=text, completion=None, fallback=True, stance=stance_json, resampled=resampled)
