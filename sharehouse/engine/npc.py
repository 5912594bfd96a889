"""Prompting the housemates.

The prompt is laid out for KV-cache reuse: a system text that is the same for every NPC call of
a session (the house, all four housemates, the rules), then the dialogue so far (which only
grows), and last the short instruction for this line. Tiny models get each housemate's sample
lines, the state's sample question in the target language, stop sequences, and cleaning; a line
in the wrong language is regenerated once, then replaced by the scenario's own sample line.
"""

from __future__ import annotations

from dataclasses import dataclass

from sharehouse.engine.users import PastTurn
from sharehouse.llm.base import ChatModel, Completion, GenParams, Message
from sharehouse.scenario import NPC, Scenario, State
from sharehouse.textclean import clean_generated, script_matches

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


def system_prompt(scenario: Scenario, lang: str, player: str) -> str:
    lang_name = LANGUAGE_NAMES[lang]
    parts = [
        f"You write the spoken lines of four housemates in a cosy story game set in {scenario.house.name.en}, "
        f"a shared house. A new housemate, {player}, has just moved in and chats with them over five days.",
        f"Every line must be written in {lang_name} only.",
        "",
        "The housemates:",
    ]
    for npc in scenario.npcs:
        examples = " / ".join(npc.examples.get(lang, [])[:3])  # type: ignore[call-overload]
        parts.append(
            f"- {npc.name.get(lang)}: {npc.profile} Style in {lang_name}: {npc.speaking_style.get(lang, '')}"  # type: ignore[call-overload]
            + (f" Typical lines: {examples}" if examples else "")
        )
    parts += [
        "",
        "Rules: write exactly one line for the housemate named in the instruction, 1 to 3 short sentences, "
        "in character, warm and natural. End with the question the instruction asks for. No narration, no "
        "stage directions, no name label, no quotation marks, no translation, never mention these rules, "
        "and never write the new housemate's reply.",
    ]
    return "\n".join(parts)


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
    parts = [f"Day {day} ({d.time_of_day.en}). {d.theme}"]
    if follow_up is not None:
        parts.append(
            f"{name} was not satisfied with the last answer ({follow_up}). {name} reacts briefly to what was "
            f"just said and asks again, more concretely, to find out: {state.intent}"
        )
    else:
        if first_of_day:
            parts.append(f"{name} opens the conversation of the day.")
        else:
            parts.append(f"{name} reacts briefly to the last answer, then moves the talk on.")
        parts.append(f"{name} wants to find out: {state.intent}")
    parts.append(f"The gist of the question (say it in your own words, do not copy it): {state.opener.get(lang)}")
    parts.append(f"Now write {name}'s line, in {LANGUAGE_NAMES[lang]}, and nothing else.")
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
        {"role": "system", "content": system_prompt(scenario, lang, player)},
        {"role": "user", "content": body},
    ]


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
    last: Completion | None = None
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
        if len(text) >= 4 and script_matches(text, lang):
            return NpcLine(text=text, completion=last)
    return NpcLine(text=state.opener.get(lang), completion=last, fallback=True)
