"""Prompting the housemates.

The prompt is laid out for KV-cache reuse: a system text that is the same for every NPC call of
a session (the house, all four housemates, the rules), then the dialogue so far (which only
grows), and last the short instruction for this line. Tiny models get each housemate's sample
lines, the state's sample question in the target language, stop sequences, and cleaning; a line
in the wrong language is regenerated once, then replaced by the scenario's own sample line.

A line that gives away its instructions (it names them, as in "my system prompt", or copies a run
of eight or more words, or twelve CJK characters, from the character sheet or the instruction;
the sample lines and the state's sample question may be said) is treated the same way, and
counted in :attr:`NpcLine.leaks`.
"""

from __future__ import annotations

from dataclasses import dataclass

from sharehouse.engine.users import PastTurn
from sharehouse.llm.base import ChatModel, Completion, GenParams, Message
from sharehouse.scenario import NPC, Scenario, State
from sharehouse.textclean import clean_generated, copied_run, script_matches

LANGUAGE_NAMES = {"en": "English", "ja": "Japanese (日本語)", "zh": "Simplified Chinese (简体中文)"}
PLAYER_LABEL = {"en": "You", "ja": "あなた", "zh": "你"}

# How many turns of each finished day stay verbatim in the prompt (the current day is complete).
EARLIER_DAY_TURNS = 2
MAX_REPLY_CHARS_IN_PROMPT = 400


@dataclass
class NpcLine:
    text: str
    completion: Completion | None
    fallback: bool = False  # True when the scenario's sample line was used instead of the model's
    leaks: int = 0  # generated lines rejected because they gave away the instructions


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
            f"Lines you might say:\n{examples}" if examples else "",
            f"Always answer as {name} only, in {lang_name} only: one to three short spoken sentences that end "
            f"with a question for {player}. No narration, no name label, no quotation marks, no translation. "
            f"You ask the questions; you never answer them yourself and never speak for {player}.",
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
        lines.append(f"[Day {day}]")
        for t in turns:
            lines.append(f"{t.npc_name}: {_shorten(t.message)}")
            lines.append(f"{you}: {_shorten(t.response)}")
    return "\n".join(lines)


def instruction(
    scenario: Scenario,
    state: State,
    npc: NPC,
    lang: str,
    day: int,
    *,
    follow_up: str | None,
    first_of_day: bool,
) -> str:
    d = scenario.day(day)
    name = npc.name.get(lang)
    parts = [f"Day {day}, {d.time_of_day.en}. {d.theme}"]
    if follow_up is not None:
        parts.append(
            f"The last answer did not really answer you ({follow_up}). React briefly to it and ask again, "
            f"more concretely. You want to find out: {state.intent}"
        )
    else:
        if first_of_day:
            parts.append("You open today's conversation.")
        else:
            parts.append("React briefly to the last answer, then move the talk on.")
        parts.append(f"You want to find out: {state.intent}")
    parts.append(f"The gist of your question (say it in your own words): {state.opener.get(lang)}")
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
        + instruction(scenario, state, npc, lang, day, follow_up=follow_up, first_of_day=first_of_day)
    )
    return [
        {"role": "system", "content": system_prompt(scenario, npc, lang, player)},
        {"role": "user", "content": body},
    ]


_ECHO_MARKERS = (
    "want to find out",
    "wants to find out",
    "the gist",
    "instruction",
    "in your own words",
    "react briefly",
    "move the talk on",
    "conversation so far",
    "say your line",
)


# Words that name the instructions themselves: no housemate says them in a chat.
_LEAK_MARKERS = (
    "system prompt",
    "system message",
    "character sheet",
    "who you are:",
    "how you talk in",
    "lines you might say",
    "always answer as",
    "no narration",
    "no name label",
    "システムプロンプト",
    "プロンプト",
    "系统提示",
    "提示词",
)
#: a run at least this long (words; a CJK character counts 2/3) copied from the prompt is a leak
LEAK_MIN_WORDS = 8.0


def echoes_instruction(text: str, state: State) -> bool:
    """True when the model repeated the prompt's directions instead of speaking."""
    low = text.lower()
    if any(m in low for m in _ECHO_MARKERS):
        return True
    return state.intent[:40].lower() in low


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


def leaked_instructions(text: str, protected: list[str]) -> str | None:
    """Why ``text`` gives away its instructions (a marker word, or the copied run), or None."""
    low = text.casefold()
    marker = next((m for m in _LEAK_MARKERS if m in low), None)
    if marker is not None:
        return f"names its instructions ({marker!r})"
    run = copied_run(text, protected, min_words=LEAK_MIN_WORDS)
    return f"copies its instructions ({run!r})" if run is not None else None


def _allowed_texts(scenario: Scenario, state: State, npc: NPC, lang: str, player: str) -> list[str]:
    """What a line may say although the prompt holds it: sample lines, the sample question, the
    intent (asking it is the point), names."""
    examples = list(npc.examples.get(lang, []))  # type: ignore[call-overload]
    names = [n.name.get(lang) for n in scenario.npcs] + [n.name.en for n in scenario.npcs] + [player]
    return [*examples, state.opener.get(lang), state.intent, *names]


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
) -> NpcLine:
    """One housemate line for a state (a first ask or a follow-up)."""
    npc = scenario.npc(state.npc)
    base = params or GenParams(max_tokens=140, temperature=0.7)
    others = [n.name.get(lang) for n in scenario.npcs if n.id != npc.id] + [PLAYER_LABEL[lang], player]
    stop = [*base.stop, *(f"\n{o}:" for o in others), *(f"\n{o}：" for o in others), "\n\n\n"]
    messages = build_messages(scenario, state, lang, day, history, player=player, follow_up=follow_up)
    protected = instruction_texts(messages, _allowed_texts(scenario, state, npc, lang, player))
    last: Completion | None = None
    leaks = 0
    for attempt in range(2):
        p = GenParams(
            max_tokens=base.max_tokens,
            temperature=base.temperature if attempt == 0 else min(1.0, base.temperature + 0.3),
            top_p=base.top_p,
            seed=None if base.seed is None else base.seed + attempt,
            stop=stop,
            on_token=base.on_token if attempt == 0 else None,
        )
        last = await model.complete(messages, p)
        text = clean_generated(last.text, names=[npc.name.get(lang), npc.name.en], stop_names=others)
        if leaked_instructions(text, protected) is not None:
            leaks += 1
            continue
        if len(text) >= 4 and script_matches(text, lang) and not echoes_instruction(text, state):
            return NpcLine(text=text, completion=last, leaks=leaks)
    return NpcLine(text=state.opener.get(lang), completion=last, fallback=True, leaks=leaks)
