"""Predicted replies reduced to the spoken line, and what went wrong flagged instead of hidden.

:func:`detect_flags` looks at the raw model output: ``leaked_reasoning`` (thinking blocks, "Let me
think", numbered steps, "As an AI", style analyses), ``refusal`` (the model declined), ``meta_text`` (talk about the reply around it),
``echoed_message`` (the reply mostly copies the NPC's message), ``empty``
(nothing left to score) and ``wrong_language`` (the reply is not in the user's script).
:func:`clean_reply` removes reasoning, labels, quotes and trailing notes, keeping the reply itself.
A flagged prediction is still scored; the flags are counted in the leaderboard.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from difflib import SequenceMatcher

from sharehouse.textclean import clean_generated, is_substantive, script_matches, strip_label

LEAKED_REASONING = "leaked_reasoning"
REFUSAL = "refusal"
META_TEXT = "meta_text"
ECHOED_MESSAGE = "echoed_message"
EMPTY = "empty"
WRONG_LANGUAGE = "wrong_language"
FLAGS: tuple[str, ...] = (LEAKED_REASONING, REFUSAL, META_TEXT, ECHOED_MESSAGE, EMPTY, WRONG_LANGUAGE)

_REASONING_PATTERNS = [
    r"<\s*/?\s*think(ing)?\s*>",
    r"\blet me (think|analy[sz]e|consider|break (this|it) down)\b",
    r"\blet'?s (think|analy[sz]e|break (this|it) down)\b",
    r"\bstep\s*[1-9]\b",
    r"\bfirst,? i (will|need to|should)\b",
    r"^\s*(reasoning|analysis|thought|thinking|explanation|style (analysis|labels?)|observations?)\s*[:：]",
    r"\bas an ai\b",
    r"\bas a (large )?language model\b",
    r"\bi am an ai\b|\bi'm an ai\b",
    r"\bbased on (the|your|their|these) (previous|past|prior) (exchanges|interactions|responses|replies)\b",
    r"\b(the|this) user'?s? (style|tone|replies|responses)\b",
    r"\bpredicted (response|reply)\b",
    r'"(tone|length|emotion|interpersonal_distance)"\s*:',
    r"ステップ\s*[1-9１-９]",
    r"考えてみ(ます|よう)",
    r"AIとして|AI として|言語モデルとして",
    r"步骤\s*[1-9一二三]",
    r"让我(想想|思考|分析)",
    r"作为(一个)?\s*(AI|人工智能|语言模型)",
]


def _apostrophes(pattern: str) -> str:
    """Let a straight apostrophe in a pattern also match the typographic one."""
    return pattern.replace("'", "['’]")


_REASONING = re.compile("|".join(f"(?:{_apostrophes(p)})" for p in _REASONING_PATTERNS), re.I | re.M)

_REFUSAL_PATTERNS = [
    r"\bI'?m sorry,? but I (can'?t|cannot|am unable|won'?t)\b",
    r"\bI (can'?t|cannot|am unable to|am not able to) (help|assist|comply|predict|provide|do that|answer)",
    r"\bI (don'?t|do not) have (personal )?(opinions|experiences|feelings|preferences)\b",
    r"\bI must decline\b",
    r"申し訳(ありません|ございません)が.{0,20}(できません|お答え)",
    r"お答えできません|回答できません",
    r"抱歉.{0,12}(无法|不能)(回答|提供|帮助|预测)",
    r"我(无法|不能)(回答|提供|帮助|预测)",
]
_REFUSAL = re.compile("|".join(f"(?:{_apostrophes(p)})" for p in _REFUSAL_PATTERNS), re.I)

# A line after which the real reply starts ("Reply: ...", "Final answer: ...").
_ANSWER_MARKER = re.compile(
    r"^\s*(?:\*\*)?(?:final (?:answer|reply|response)|reply|response|answer|my (?:reply|response)|"
    r"predicted (?:reply|response)|返答|返信|回答|回复|答复)(?:\*\*)?\s*[:：]\s*",
    re.I | re.M,
)
# Lines that are reasoning or notes, dropped wherever they appear.
_META_LINE = re.compile(
    _apostrophes(
        r"^\s*(?:[-*•]\s*)?(?:\*\*)?(?:"
        r"(?:step\s*\d+|ステップ\s*[0-9０-９]+|步骤\s*[0-9一二三四五]+)\b.*"
        r"|(?:let me|let's) (?:think|analy[sz]e|consider|break)\b.*"
        r"|(?:reasoning|analysis|thought|thinking|explanation|note|notes|style|tone|length|emotion|"
        r"interpersonal distance|observations?|メモ|注|说明|注意)(?:\*\*)?\s*[:：].*"
        r")$"
    ),
    re.I,
)
_TRAILING_NOTE = re.compile(
    r"\n\s*(?:(?:\(|（)\s*(?:note|explanation|this (?:reply|response)|word count|注|说明)\b"
    r"|(?:note|explanation|word count|注|说明)\s*[:：]).*$",
    re.I | re.S,
)
_AI_PREAMBLE = re.compile(
    r"^\s*(?:as an ai|as a (?:large )?language model)[^,.!?]*[,.!?]\s*|^\s*(?:AIとして|作为(?:一个)?AI)[^、。，,]*[、。，,]\s*",
    re.I,
)
# "Here's the next message you could send:" and the like; the reply follows it.
_META_PREAMBLE = re.compile(
    _apostrophes(
        r"^[^\n]*\b(?:here(?:'s| is| are)|below is|this is|i would (?:say|reply|respond)|you could (?:say|reply|send|type)|"
        r"you might (?:say|reply))\b[^\n]{0,220}[:：]\s*$"
    ),
    re.I | re.M,
)
# A trailing paragraph that talks about the reply instead of being part of it.
_META_TRAILER = re.compile(
    r"\n\s*\n\s*(?:here\b|this (?:reply|response|message)\b|note\b|i hope\b|let me know\b|feel free\b|"
    r"in this (?:reply|response)\b|remember\b|explanation\b).*$",
    re.I | re.S,
)
# An opening sentence that announces thinking ("Let me think.", "让我想想。").
_LEADING_THOUGHT = re.compile(
    _apostrophes(
        r"^\s*(?:let me (?:think|see)|let's think(?: step by step)?|hmm,? let me think|"
        r"考えてみます|考えてみよう|让我想想|让我思考一下)[^.。!！?？\n]{0,80}[.。!！?？…]+\s*"
    ),
    re.I,
)
_RULE_LINE = re.compile(r"^\s*(?:[-=*_~]\s*){3,}$")
_SELF_LABELS = ("You", "Me", "A", "User", "Resident", "Reply", "Response", "あなた", "私", "我", "你")


def echoes(message: str, reply: str) -> bool:
    """True when most of the reply (at least 20 characters) is copied from the message."""
    a, b = " ".join(message.lower().split()), " ".join(reply.lower().split())
    if len(b) < 20 or not a:
        return False
    match = SequenceMatcher(None, a, b, autojunk=False).find_longest_match(0, len(a), 0, len(b))
    return match.size >= 0.6 * len(b)


def detect_flags(
    raw: str, cleaned: str, *, language: str | None = None, message: str | None = None
) -> list[str]:
    """The problems visible in a raw output and its cleaned text, in :data:`FLAGS` order."""
    flags: list[str] = []
    if _REASONING.search(raw):
        flags.append(LEAKED_REASONING)
    if _REFUSAL.search(raw):
        flags.append(REFUSAL)
    if _META_PREAMBLE.search(raw) or _META_TRAILER.search(raw):
        flags.append(META_TEXT)
    if message and echoes(message, cleaned):
        flags.append(ECHOED_MESSAGE)
    if not is_substantive(cleaned):
        flags.append(EMPTY)
    elif language is not None and not script_matches(cleaned, language):
        flags.append(WRONG_LANGUAGE)
    return flags


def _after_last_marker(text: str) -> str:
    matches = list(_ANSWER_MARKER.finditer(text)) + list(_META_PREAMBLE.finditer(text))
    if not matches:
        return text
    end = max(m.end() for m in matches)
    rest = text[end:].strip()
    return rest or text


def _unquote_open(text: str) -> str:
    """A reply that opens a quotation the model never closed (cut by the token limit)."""
    for a, b in (('"', '"'), ("“", "”"), ("「", "」")):
        if text.startswith(a) and text.count(b) == (1 if a == b else 0):
            return text[len(a) :].strip()
        if text.startswith(a) and text.count(b) >= (2 if a == b else 1):
            close = text.index(b, len(a))
            return text[len(a) : close].strip()
    return text


def clean_reply(raw: str, *, npc_names: Iterable[str] = (), max_chars: int = 800) -> str:
    """The spoken reply inside a model output (reasoning, labels, quotes and notes removed)."""
    text = re.sub(r"<\s*think(ing)?\s*>.*?(<\s*/\s*think(ing)?\s*>|$)", "", raw, flags=re.S | re.I)
    text = re.sub(r"<\s*/\s*think(ing)?\s*>", "", text, flags=re.I)
    text = _after_last_marker(text)
    text = _TRAILING_NOTE.sub("", text)
    text = _META_TRAILER.sub("", text)
    text = _unquote_open(text.strip())
    lines = [ln for ln in text.split("\n") if not _META_LINE.match(ln) and not _RULE_LINE.match(ln)]
    text = "\n".join(lines).strip()
    names = [n for n in npc_names if n]
    text = clean_generated(text, names=_SELF_LABELS, stop_names=[*names, *_SELF_LABELS], max_chars=max_chars)
    text = strip_label(text)
    text = _AI_PREAMBLE.sub("", text)
    text = _LEADING_THOUGHT.sub("", text)
    for name in names:
        text = re.sub(rf"^\s*{re.escape(name)}\s*[:：]\s*", "", text)
    return text.strip()


def clean_and_flag(
    raw: str, *, npc_names: Iterable[str] = (), language: str | None = None, message: str | None = None
) -> tuple[str, list[str]]:
    """:func:`clean_reply` and :func:`detect_flags` together."""
    names = list(npc_names)
    cleaned = clean_reply(raw, npc_names=names)
    return cleaned, detect_flags(raw, cleaned, language=language, message=message)
