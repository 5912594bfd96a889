"""Prompts of the ``paper`` protocol, laid out as the YNTP-100 paper's Appendix E lays them out
(the wording is ours).

Structure: a short system prompt (the newcomer in a shared house, the residents' names, what to
observe in the earlier replies, the task: predict your next reply); a user prompt with the
inputs (the MBTI profile where the method has one, the days 1-4 exchanges as ``Q`` / ``A``
pairs with ``A`` the person's reply) followed by the day-5 message. Nothing else: no measured
style statistics, no earlier day-5 turns, no output-format rules.
"""

from __future__ import annotations

from collections.abc import Sequence

from evaluator.methods.base import HistoryTurn, MethodContext, TestItem

QUESTION_LABEL = "Q"  # a housemate's message in the demonstrations
REPLY_LABEL = "A"  # the person's own reply in the demonstrations


def _residents(names: Sequence[str]) -> str:
    people = list(names) or ["your housemates"]
    if len(people) == 1:
        return people[0]
    return ", ".join(people[:-1]) + " and " + people[-1]


def _newcomer(names: Sequence[str]) -> str:
    return f"You are the newest resident of a shared house. The others living there are {_residents(names)}."


TASK = "Your task is to predict the next reply you would send."
OBSERVE = (
    f'Study them closely: tone, attitude, values and any other hints. Lines marked "{REPLY_LABEL}" '
    "are your own replies."
)
HABITS = (
    "Look, for example, at:\n"
    "- the word you use to refer to yourself,\n"
    "- whether you keep things short or answer at length and courteously,\n"
    "- whether your wording is casual or formal,\n"
    "- how long your replies usually are,\n"
    "- how you punctuate.\n"
    "Above all, notice how long your replies are."
)
IMITATE = "Then predict your next reply, written the way you communicate."


def zero_shot_system(names: Sequence[str]) -> str:
    return f"{_newcomer(names)} {TASK}"


def few_shot_system(names: Sequence[str]) -> str:
    return "\n".join(
        [
            f"{_newcomer(names)} Below are earlier exchanges from your chats with them.",
            OBSERVE,
            HABITS,
            IMITATE,
        ]
    )


def mbti_system(names: Sequence[str]) -> str:
    return "\n".join(
        [
            f"{_newcomer(names)} Below are earlier exchanges from your chats with them, and your MBTI profile.",
            OBSERVE,
            "Then, from what you observe and from the MBTI profile, predict your next reply, written "
            "the way you communicate.",
        ]
    )


def cot_system(names: Sequence[str], labels: dict[str, str]) -> str:
    style = (
        "Your style, inferred from your earlier replies:\n"
        f"- tone: {labels['tone']}\n- length: {labels['length']}\n- emotion: {labels['emotion']}\n"
        f"- interpersonal distance: {labels['interpersonal_distance']}"
    )
    silent = (
        "Keep to this style. Work out privately what you would say and how; write only the reply "
        "itself, with none of that reasoning."
    )
    return "\n".join([few_shot_system(names), style, silent])


def exchanges(turns: Sequence[HistoryTurn], ctx: MethodContext) -> str:
    """Days 1-4 as ``Q`` / ``A`` pairs (``max_demos`` keeps the last N)."""
    keep = ctx.extra.get("max_demos")
    chosen = list(turns)[-int(keep) :] if keep else list(turns)
    return "\n".join(f"{QUESTION_LABEL}: {t.message}\n{REPLY_LABEL}: {t.response}" for t in chosen)


def request(item: TestItem) -> str:
    return f"Predict the reply you would send to this message:\n{item.message}"


def with_inputs(sections: Sequence[tuple[str, str]], item: TestItem) -> str:
    """The user prompt: each (heading, text) input, then the request for ``item``."""
    parts = [f"{heading}:\n{text}" for heading, text in sections]
    return "\n\n".join([*parts, request(item)])
