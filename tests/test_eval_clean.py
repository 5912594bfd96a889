"""Cleaning of predicted replies and detection of leaked reasoning, meta text and refusals (no model)."""

from __future__ import annotations

import pytest

from evaluator.methods.clean import (
    ECHOED_MESSAGE,
    EMPTY,
    LEAKED_REASONING,
    META_TEXT,
    REFUSAL,
    WRONG_LANGUAGE,
    clean_and_flag,
    clean_reply,
    detect_flags,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("A: Sure, sounds fun!", "Sure, sounds fun!"),
        ("You: Sure, sounds fun!", "Sure, sounds fun!"),
        ('"Exactly, I agree."', "Exactly, I agree."),
        ("「いいですね、やりましょう。」", "いいですね、やりましょう。"),
        ("<think>The user writes tersely, so keep it short.</think>Yes. I agree.", "Yes. I agree."),
        ("<think>unfinished reasoning that never closes", ""),
        (
            "Let me think about how this person writes.\nStep 1: they are brief.\nStep 2: they agree.\n"
            "Reply: Yes, let's do it.",
            "Yes, let's do it.",
        ),
        ("Sounds good!\nDaVinci: Great, see you at eight then!", "Sounds good!"),
        ("Sure thing.\n\n(Note: this reply keeps the short style of the user.)", "Sure thing."),
        (
            "Sure! Here’s the next message you could type:\n\n\"Let's split the chores by week",
            "Let's split the chores by week",
        ),
        (
            "Rotating hours works for me.\n\nHere is why this reply fits the user: it is short.",
            "Rotating hours works for me.",
        ),
        ("As an AI, I'd still pick the quiet room.", "I'd still pick the quiet room."),
        ("回复：我觉得可以。", "我觉得可以。"),
    ],
)
def test_clean_reply(raw: str, expected: str) -> None:
    assert clean_reply(raw, npc_names=["DaVinci", "Raffaello"]) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "<think>short replies</think>ok",
        "Let me think. They like quiet.\nSure.",
        "Let’s think step by step. Sure.",
        "Step 1: look at the tone. Step 2: answer. Sure.",
        "As an AI language model, I would say yes.",
        'Reasoning: the user is polite.\n{"tone": "polite"}\nYes please.',
        "ステップ1：口調を確認します。はい。",
        "让我想想。好的。",
        "作为一个AI，我觉得可以。",
    ],
)
def test_leaked_reasoning_is_flagged(raw: str) -> None:
    text, flags = clean_and_flag(raw)
    assert LEAKED_REASONING in flags
    for leak in ("<think>", "Step 1", "Let me think", "As an AI", "ステップ1", "让我想想", "作为一个AI"):
        assert leak not in text


@pytest.mark.parametrize(
    "raw",
    [
        "I'm sorry, but I can't help with predicting what a real person would say.",
        "I cannot predict that person's reply.",
        "申し訳ありませんが、その質問にはお答えできません。",
        "抱歉，我无法回答这个问题。",
    ],
)
def test_refusals_are_flagged_but_kept(raw: str) -> None:
    text, flags = clean_and_flag(raw)
    assert REFUSAL in flags
    assert text  # still scored


@pytest.mark.parametrize(
    "raw",
    [
        "I can't wait for the party!",
        "Notes on the fridge work for me.",
        "Step by step we will get there.",
        "Length of the meeting? Short, please.",
        "I think the schedule is fine, let me know if not",
    ],
)
def test_ordinary_replies_are_not_flagged_or_changed(raw: str) -> None:
    text, flags = clean_and_flag(raw, language="en")
    assert flags == []
    assert text == raw


def test_meta_text_flag() -> None:
    raw = 'Here is a reply you might send:\n"Count me in."'
    text, flags = clean_and_flag(raw, language="en")
    assert text == "Count me in."
    assert META_TEXT in flags


def test_long_preamble_and_separator() -> None:
    raw = (
        "Sure! Here's a revised version of your message that incorporates DaVinci's advice and expresses an "
        "excited interest in starting a creative project together:\n\n---\n\nCount me in for the mural!"
    )
    text, flags = clean_and_flag(raw, language="en")
    assert text == "Count me in for the mural!"
    assert META_TEXT in flags


def test_echoed_message_flag() -> None:
    msg = "Haha, friend! Since we all love freedom, how about a creative project together this weekend?"
    _, flags = clean_and_flag(
        "Haha, friend! Since we all love freedom, how about a creative project", message=msg
    )
    assert ECHOED_MESSAGE in flags
    _, flags = clean_and_flag("A project sounds fun, count me in.", message=msg)
    assert ECHOED_MESSAGE not in flags


def test_empty_and_wrong_language() -> None:
    assert detect_flags("   ", "", language="en") == [EMPTY]
    assert detect_flags("<think>x</think>", "", language="en") == [LEAKED_REASONING, EMPTY]
    assert WRONG_LANGUAGE in detect_flags("Sure, why not.", "Sure, why not.", language="ja")
    assert detect_flags("はい、賛成です。", "はい、賛成です。", language="ja") == []
    assert detect_flags("我同意。", "我同意。", language="zh") == []
