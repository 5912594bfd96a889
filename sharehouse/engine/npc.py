"""Prompting the housemates.

A housemate line is written one of two ways (:data:`HOUSEMATE_MODES`):

- ``react`` (the default): the model writes a one-sentence reaction to the player's last answer
  (:mod:`sharehouse.engine.reaction`) and the scenario's question follows it; the first line of a
  day is the scenario's own opener. The question is therefore always the written one, and a small
  model only does what it does well.
- ``compose``: the model writes the whole line, reaction and question in its own words, from the
  state's intent and sample question (for larger models). What follows describes this way.

The ``compose`` prompt is laid out for KV-cache reuse: a system text that is the same for every NPC call of
a session (the house, all four housemates, the rules), then the dialogue so far (which only
grows), and last the short instruction for this line. Tiny models get each housemate's sample
lines (for tone), the state's sample question in the target language, stop sequences, and
cleaning. The instruction asks for a reaction to what the player meant, never their words, and
lists what this housemate already said, so that it says something new.

Every generated line goes through :func:`sharehouse.engine.npc_guard.rejection`: a line that gives
away its instructions, is not speech (markup, a speaker label, a list, a preamble, narration), is
in the wrong language, echoes the player, repeats an earlier housemate line, or holds no question
is regenerated (up to :data:`MAX_ATTEMPTS` tries in all, each a little warmer and with another
seed), then replaced by the scenario's own line. Each rejected line's reason is kept in
:attr:`NpcLine.rejected`; the leaks among them are also counted in :attr:`NpcLine.leaks`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, get_args

from sharehouse.engine import reaction
from sharehouse.engine.npc_guard import LineRules, Reason, rejection
from sharehouse.engine.reaction import LANGUAGE_NAMES
from sharehouse.engine.users import PastTurn
from sharehouse.llm.base import ChatModel, Completion, GenParams, Message
from sharehouse.scenario import NPC, Scenario, State
from sharehouse.textclean import clean_generated, normalise

PLAYER_LABEL = {"en": "You", "ja": "あなた", "zh": "你"}
#: how a housemate re-asks with the scenario's line when that very line was already said
REASK = {"en": "Let me ask again: ", "ja": "もう一回聞くね。", "zh": "我再问一次："}
#: a follow-up put as the choice between the two sides of the state's dimension (its ``poles``)
CHOICE = {
    "en": "Would you rather {a}, or {b}?",
    "ja": "{a}？それとも{b}？どっちに近い？",
    "zh": "{a}，还是{b}？你更接近哪一种？",
}

#: how a housemate line is written: a reaction before the scenario's question, or the whole line
HousemateMode = Literal["react", "compose"]
HOUSEMATE_MODES: tuple[str, ...] = get_args(HousemateMode)
#: a reaction is one sentence: this many tokens are plenty
REACTION_MAX_TOKENS = 60

# How many turns of each finished day stay verbatim in the prompt (the current day is complete).
EARLIER_DAY_TURNS = 2
MAX_REPLY_CHARS_IN_PROMPT = 400
#: how many of the housemate's own earlier lines the instruction lists as already said
OWN_LINES_IN_PROMPT = 4
#: tries per line: the first and up to two regenerations
MAX_ATTEMPTS = 3
#: how much warmer each regeneration samples
RETRY_TEMPERATURE_STEP = 0.15


@dataclass
class NpcLine:
    text: str
    completion: Completion | None
    fallback: bool = False  # True when the scenario's sample line was used instead of the model's
    leaks: int = 0  # generated lines rejected because they gave away the instructions
    rejected: list[Reason] = field(default_factory=list)  # why each rejected generated line was


_COUNTS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")


def _count(n: int) -> str:
    return _COUNTS[n] if 0 <= n < len(_COUNTS) else str(n)


def system_prompt(scenario: Scenario, npc: NPC, lang: str, player: str) -> str:
    """The speaking housemate's character sheet. Stable for every line this housemate says in a
    session, so its KV cache is reused from one of its lines to the next."""
    lang_name = LANGUAGE_NAMES[lang]
    name = npc.name.get(lang)
    others = ", ".join(f"{o.name.get(lang)} ({o.personality.en})" for o in scenario.npcs if o.id != npc.id)
    examples = "\n".join(f"- {e}" for e in npc.examples.get(lang, [])[:3])  # type: ignore[call-overload]
    return "\n".join(
        [
            f"You are {name}, one of {_count(len(scenario.npcs))} housemates in {scenario.house.name.en}, "
            "a shared house. "
            f"You live with {others}. A new housemate, {player}, has just moved in, and you chat over five days.",
            f"Who you are: {npc.profile}",
            f"How you talk in {lang_name}: {npc.speaking_style.get(lang, '')}",  # type: ignore[call-overload]
            f"The tone of your lines (for tone only, never to be said again word for word):\n{examples}"
            if examples
            else "",
            f"Always answer as {name} only, in {lang_name} only: one to three short spoken sentences that end "
            f"with a question for {player}. No narration, no name label, no quotation marks, no translation. "
            f"You ask the questions; you never answer them yourself and never speak for {player}. "
            f"Never repeat what {player} wrote, and never say a line that was already said.",
        ]
    ).strip()


def _shorten(text: str, limit: int = MAX_REPLY_CHARS_IN_PROMPT) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "…"


def transcript(history: list[PastTurn], current_day: int, lang: str) -> str:
    """The dialogue so far; finished days keep only their last few turns (stable within a day)."""
    you = PLAYER_LABEL[lang]
    lines: list[str] = []
    days = sorted({t.day for t in history})
    for day in days:
        turns = [t for t in history if t.day == day]
        if day < current_day:
            turns = turns[-EARLIER_DAY_TURNS:]
        lines.append(f"(day {day})")
        for t in turns:
            lines.append(f"{t.npc_name}: {_shorten(t.message)}")
            lines.append(f"{you}: {_shorten(t.response)}")
    return "\n".join(lines)


def own_lines(history: list[PastTurn], npc_name: str) -> list[str]:
    """The speaking housemate's latest lines of the session, oldest first, each once."""
    said = list(dict.fromkeys(t.message for t in history if t.npc_name == npc_name))
    return said[-OWN_LINES_IN_PROMPT:]


def instruction(
    scenario: Scenario,
    state: State,
    npc: NPC,
    lang: str,
    day: int,
    *,
    follow_up: str | None,
    first_of_day: bool,
    player: str = "the newcomer",
    already_said: list[str] | None = None,
) -> str:
    d = scenario.day(day)
    name = npc.name.get(lang)
    parts = [f"Day {day}, {d.time_of_day.en}. {d.theme}"]
    if follow_up is not None:
        parts.append(
            f"{player}'s last answer did not really answer you ({follow_up}). Say so in a few words of your "
            f"own (never quote {player}), then ask again, more concretely. You want to find out: {state.intent}"
        )
    else:
        if first_of_day:
            parts.append("You open today's conversation.")
        else:
            parts.append(
                f"Start with a short reaction to what {player} meant in the last answer, in your own words "
                f"(never quote or repeat {player}'s words), then ask your new question."
            )
        parts.append(f"You want to find out: {state.intent}")
    gist = (choice_question(state, lang) if follow_up is not None else None) or state.opener.get(lang)
    parts.append(f"The gist of your question (say it in your own words): {gist}")
    if already_said:
        said = "\n".join(f"- {_shorten(line, 160)}" for line in already_said)
        parts.append(f"You already said these; say something new:\n{said}")
    parts.append(f"Now say your line as {name}, in {LANGUAGE_NAMES[lang]}.")
    return "\n".join(parts)


def build_messages(
    scenario: Scenario,
    state: State,
    lang: str,
    day: int,
    history: list[PastTurn],
    *,
    player: str,
    follow_up: str | None = None,
) -> list[Message]:
    npc = scenario.npc(state.npc)
    talk = transcript(history, day, lang)
    first_of_day = not any(t.day == day for t in history)
    body = (
        ("Conversation so far:\n" + talk + "\n\n" if talk else "The conversation starts now.\n\n")
        + "Instruction: "
        + instruction(
            scenario,
            state,
            npc,
            lang,
            day,
            follow_up=follow_up,
            first_of_day=first_of_day,
            player=player,
            already_said=own_lines(history, npc.name.get(lang)),
        )
    )
    return [
        {"role": "system", "content": system_prompt(scenario, npc, lang, player)},
        {"role": "user", "content": body},
    ]


def instruction_texts(messages: list[Message], allowed: list[str]) -> list[str]:
    """The parts of a prompt a line must not reproduce: the system message and the instruction at
    the end of the user message (not the conversation before it), each cut at every ``allowed``
    text (sample lines, the sample question, names), so that saying those is no leak."""
    parts: list[str] = []
    for m in messages:
        content = m["content"]
        if m["role"] == "user":
            content = content.rpartition("Instruction: ")[2]
        elif m["role"] != "system":
            continue
        for text in sorted((a for a in allowed if a), key=len, reverse=True):
            content = content.replace(text, "\n")
        parts.extend(seg for seg in content.split("\n") if seg.strip())
    return parts


def _allowed_texts(scenario: Scenario, state: State, npc: NPC, lang: str, player: str) -> list[str]:
    """What a line may say although the prompt holds it: sample lines, the sample question (and its
    follow-up choice), the intent (asking it is the point), names."""
    examples = list(npc.examples.get(lang, []))  # type: ignore[call-overload]
    names = [n.name.get(lang) for n in scenario.npcs] + [n.name.en for n in scenario.npcs] + [player]
    choice = choice_question(state, lang)
    return [*examples, state.opener.get(lang), *([choice] if choice else []), state.intent, *names]


async def generate_line(
    model: ChatModel,
    scenario: Scenario,
    state: State,
    lang: str,
    day: int,
    history: list[PastTurn],
    *,
    player: str,
    follow_up: str | None = None,
    params: GenParams | None = None,
    mode: HousemateMode = "react",
) -> NpcLine:
    """One housemate line for a state (a first ask or a follow-up), checked by the guard, written
    the ``mode`` way (:data:`HOUSEMATE_MODES`)."""
    ask = _Ask(scenario, state, lang, day, history, player, follow_up)
    if mode == "react":
        return await _react_line(model, ask, params)
    if mode != "compose":
        raise ValueError(f"housemate mode {mode!r}: expected one of {', '.join(HOUSEMATE_MODES)}")
    npc = scenario.npc(state.npc)
    base = params or GenParams(max_tokens=140, temperature=0.7)
    others = [n.name.get(lang) for n in scenario.npcs if n.id != npc.id] + [PLAYER_LABEL[lang], player]
    stop = [*base.stop, *(f"\n{o}:" for o in others), *(f"\n{o}：" for o in others), "\n(day", "\n\n\n"]
    messages = build_messages(scenario, state, lang, day, history, player=player, follow_up=follow_up)
    said = own_lines(history, npc.name.get(lang))  # listed in the instruction: saying them is a repeat
    rules = _rules(
        ask, instruction_texts(messages, [*_allowed_texts(scenario, state, npc, lang, player), *said])
    )
    return await _first_accepted(
        model,
        messages,
        base,
        stop=stop,
        clean=lambda raw: clean_generated(raw, names=[npc.name.get(lang), npc.name.en], stop_names=others),
        check=lambda text: rejection(text, rules),
        compose=lambda text: text,
        fallback=scenario_line(state, lang, history, follow_up=follow_up is not None),
    )


async def _first_accepted(
    model: ChatModel,
    messages: list[Message],
    base: GenParams,
    *,
    stop: list[str],
    clean: Callable[[str], str],
    check: Callable[[str], Reason | None],
    compose: Callable[[str], str],
    fallback: str,
    max_tokens: int | None = None,
) -> NpcLine:
    """Generate, clean and check up to :data:`MAX_ATTEMPTS` times (each warmer, with another seed);
    the first accepted text, put into its line by ``compose``, or else ``fallback``."""
    last: Completion | None = None
    rejected: list[Reason] = []
    for attempt in range(MAX_ATTEMPTS):
        p = GenParams(
            max_tokens=max_tokens or base.max_tokens,
            temperature=min(1.0, base.temperature + RETRY_TEMPERATURE_STEP * attempt),
            top_p=base.top_p,
            seed=None if base.seed is None else base.seed + attempt,
            stop=stop,
            on_token=base.on_token if attempt == 0 else None,
        )
        last = await model.complete(messages, p)
        text = clean(last.text)
        reason = check(text)
        if reason is None:
            return NpcLine(
                text=compose(text), completion=last, leaks=rejected.count("leak"), rejected=rejected
            )
        rejected.append(reason)
    return NpcLine(
        text=fallback, completion=last, fallback=True, leaks=rejected.count("leak"), rejected=rejected
    )


def join_line(first: str, then: str, lang: str) -> str:
    """Two spoken parts as one line (no space between CJK sentences)."""
    return f"{first}{then}" if lang in ("ja", "zh") else f"{first} {then}"


@dataclass(frozen=True)
class _Ask:
    """What a housemate line is for: the state, the session so far, who is asked."""

    scenario: Scenario
    state: State
    lang: str
    day: int
    history: list[PastTurn]
    player: str
    follow_up: str | None = None


def _rules(ask: _Ask, protected: list[str], *, needs_question: bool = True) -> LineRules:
    npcs = ask.scenario.npcs
    return LineRules(
        lang=ask.lang,
        replies=[t.response for t in ask.history],
        npc_lines=[t.message for t in ask.history],
        protected=protected,
        intent=ask.state.intent,
        speakers=[*(n.name.get(ask.lang) for n in npcs), *(n.name.en for n in npcs), ask.player],
        player=ask.player,
        needs_question=needs_question,
    )


async def _react_line(model: ChatModel, ask: _Ask, params: GenParams | None) -> NpcLine:
    """The ``react`` way: a checked one-sentence reaction to the last answer, then the scenario's
    question (for a follow-up its choice between the two sides). A day's first line is the
    scenario's opener alone; when every try at a reaction is rejected, the question stands alone."""
    scenario, state, lang, day, history = ask.scenario, ask.state, ask.lang, ask.day, ask.history
    follow_up, player = ask.follow_up, ask.player
    question = scenario_line(state, lang, history, follow_up=follow_up is not None)
    if not history or (follow_up is None and not any(t.day == day for t in history)):
        return NpcLine(text=question, completion=None)  # the scenario's by design: no fallback
    npc = scenario.npc(state.npc)
    name = npc.name.get(lang)
    last = history[-1]
    messages = reaction.build_messages(
        npc,
        lang,
        asker=last.npc_name,
        question=_shorten(last.message),
        answer=_shorten(last.response),
        follow_up=follow_up is not None,
    )
    base = params or GenParams(max_tokens=REACTION_MAX_TOKENS, temperature=0.7)
    others = [n.name.get(lang) for n in scenario.npcs if n.id != npc.id] + [PLAYER_LABEL[lang], player]
    rules = _rules(
        ask, instruction_texts(messages[:1], [n.name.get(lang) for n in scenario.npcs]), needs_question=False
    )
    return await _first_accepted(
        model,
        messages,
        base,
        stop=[*base.stop, "\n"],
        max_tokens=min(base.max_tokens, REACTION_MAX_TOKENS),
        clean=lambda raw: reaction.trim(
            clean_generated(raw, names=[name, npc.name.en], stop_names=others), lang
        ),
        check=lambda text: reaction.reaction_rejection(text, rules),
        compose=lambda text: join_line(text, question, lang),
        fallback=question,
    )


def choice_question(state: State, lang: str) -> str | None:
    """The state's question as a choice between the two sides of its dimension, in the scenario's
    words (its ``poles``), or None when the state has none."""
    if not state.poles or state.mbti == "none":
        return None
    a, b = (state.poles[letter].get(lang) for letter in state.mbti.split("/"))
    return CHOICE[lang].format(a=a, b=b)


def scenario_line(state: State, lang: str, history: list[PastTurn], *, follow_up: bool = False) -> str:
    """The scenario's own line for a state, the first not said yet in the session: for a follow-up
    the choice between the sides of its dimension (when the scenario gives them), then its written
    question, then that question re-asked."""
    opener = state.opener.get(lang)
    choice = choice_question(state, lang) if follow_up else None
    earlier = {normalise(t.message) for t in history}
    candidates = [c for c in (choice, opener, REASK[lang] + opener) if c]
    return next((c for c in candidates if normalise(c) not in earlier), candidates[-1])
