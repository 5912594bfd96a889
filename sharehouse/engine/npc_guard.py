"""Whether a generated housemate line may be shown: one check, one reason.

:func:`rejection` returns why a line is not usable as a housemate's spoken line, or None. The
reasons, in the order they are tried:

- ``empty``: fewer than four characters, or no letters at all;
- ``leak``: the line names or copies its instructions (a run of eight words, or twelve CJK
  characters, of the character sheet or the instruction; the sample lines and the sample question
  may be said), or repeats the prompt's directions ("you want to find out ...");
- ``markup``: transcript or stage markup: ``[Day 2]``, ``【...】``, ``*smiles*``, ``(laughs)``;
- ``label``: a speaker label, ``Kenji:``, ``Leo:``, ``User:``, ``プレイヤー：``;
- ``list``: a numbered or bulleted list;
- ``preamble``: an assistant's preamble, "Sure, here's one answer:", "以下は", "以下是", or its
  offer of help, "let me know if you need anything", "お手伝いできるよ", "有什么可以帮你的" (none of the 1,804 real
  housemate lines of YNTP-100 offers help; the 1.5B model's Japanese reactions did, run q-d5-r8);
- ``narration``: narration instead of speech, about the player in the third person ("the player
  preferred", "プレイヤー", "玩家") or about a housemate ("Leo smiles and asks");
- ``language``: not in the session's script;
- ``echo``: it equals or nearly copies a reply of the player's (any of the session), or is mostly the
  player's last reply;
- ``repeat``: it equals or nearly copies an earlier housemate line of the session (any housemate);
- ``no-question``: the state asks a question and the line holds none.

A reaction written to stand before the scenario's question (:mod:`sharehouse.engine.reaction`) is
rejected as ``question`` when it asks one itself.

Texts are compared as :func:`sharehouse.textclean.normalise` leaves them (the form the
dialogue-quality report uses): a copy is the same text, a ``difflib`` ratio of at least
:data:`NEAR_COPY_RATIO`, or a shared run of :data:`ECHO_RUN_WORDS` words.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from sharehouse.textclean import (
    ASSISTANT_OFFER,
    CJK_WEIGHT,
    copied_run,
    normalise,
    script_matches,
    text_units,
)

Reason = Literal[
    "empty",
    "leak",
    "markup",
    "label",
    "list",
    "preamble",
    "narration",
    "language",
    "echo",
    "repeat",
    "no-question",
    "question",
]

#: a normalised line this similar (difflib ratio) to an earlier text is a copy of it
NEAR_COPY_RATIO = 0.85
#: a run this long (words; a CJK character weighs CJK_WEIGHT) shared with an earlier text is a copy
ECHO_RUN_WORDS = 10.0
#: a line made this much (share of its characters) of the player's whole reply is an echo
REPLY_SHARE = 0.4
#: a run at least this long (words; a CJK character counts 2/3) copied from the prompt is a leak
LEAK_MIN_WORDS = 8.0


@dataclass(frozen=True)
class LineRules:
    """What a line is checked against: the session so far and the prompt it was written from."""

    lang: str
    replies: Sequence[str] = ()  # the player's replies so far, oldest first (the last is answered now)
    npc_lines: Sequence[str] = ()  # every housemate line said so far in the session
    protected: Sequence[str] = ()  # the prompt's instruction texts, which a line must not copy
    intent: str = ""  # what the state wants to find out (its wording is the prompt's, not speech)
    speakers: Sequence[str] = ()  # names that would be speaker labels: housemates, the player
    player: str = ""  # how the housemates name the player
    needs_question: bool = True


def rejection(text: str, rules: LineRules) -> Reason | None:
    """Why ``text`` cannot be shown as the housemate's line, or None when it can."""
    if len(text.strip()) < 4 or not any(ch.isalpha() for ch in text):
        return "empty"
    if leaked_instructions(text, rules.protected) is not None or echoes_instruction(text, rules.intent):
        return "leak"
    flat = unicodedata.normalize("NFKC", text)
    for reason, test in (
        ("markup", _has_markup),
        ("label", lambda t: _has_label(t, rules.speakers)),
        ("list", _has_list),
        ("preamble", lambda t: _has_preamble(t, rules.speakers)),
        ("narration", lambda t: _narrates(t, rules.speakers, rules.player)),
    ):
        if test(flat):
            return reason  # type: ignore[return-value]
    if not script_matches(text, rules.lang):
        return "language"
    if any(copies(text, r) for r in rules.replies) or (
        rules.replies and mostly_contains(text, rules.replies[-1])
    ):
        return "echo"
    if any(copies(text, line) for line in rules.npc_lines):
        return "repeat"
    if rules.needs_question and not asks_question(text, rules.lang):
        return "no-question"
    return None


# -- copies of the transcript -----------------------------------------------------------------------
def _compact(text: str) -> str:
    return normalise(text).replace(" ", "")


def copies(line: str, source: str) -> bool:
    """``line`` equals ``source`` once normalised, nearly copies it, or shares a long run with it."""
    a, b = _compact(line), _compact(source)
    if not a or not b:
        return False
    if a == b:
        return True
    if (
        min(len(a), len(b)) >= 4
        and difflib.SequenceMatcher(None, a, b, autojunk=False).ratio() >= NEAR_COPY_RATIO
    ):
        return True
    return copied_run(line, [source], min_words=ECHO_RUN_WORDS) is not None


def _weight(text: str) -> float:
    return sum(CJK_WEIGHT if len(u) == 1 and not u.isascii() else 1.0 for u in text_units(text))


def mostly_contains(line: str, reply: str) -> bool:
    """The player's whole reply (two words or more) is in the line and makes up much of it."""
    a, b = _compact(line), _compact(reply)
    return bool(b) and _weight(reply) >= 2 and b in a and len(b) >= REPLY_SHARE * len(a)


# -- not speech ------------------------------------------------------------------------------------
_MARKUP = re.compile(
    r"\[[^\]\n]{0,60}\]|【[^】\n]{0,60}】|^\s*\(\s*day\s*\d"
    r"|(?<![*\w])\*(?!\*)[^*\n]{1,80}(?<!\*)\*(?![*\w])"
    r"|\((?:laughs?|laughing|smiles?|smiling|sighs?|grins?|nods?|winks?|giggles?|chuckles?|shrugs?)\b[^)\n]{0,40}\)",
    re.I | re.M,
)
_GENERIC_LABELS = (
    "user", "assistant", "player", "me", "you", "housemate", "npc", "newcomer", "a", "b", "q",
    "answer", "reply", "response", "question", "line",
    "プレイヤー", "ユーザー", "あなた", "私", "新入り", "回答", "返答", "質問", "セリフ",
    "玩家", "用户", "你", "我", "新室友", "回答", "回复", "问题", "台词",
)  # fmt: skip
_LIST = re.compile(r"(?m)^\s*(?:\d{1,2}\s*[.)、]|[-*•・●▪◦]\s|[①-⑳])")
_PREAMBLE = re.compile(
    r"^\s*(?:sure|certainly|of course|okay|ok|absolutely|alright|all right)\b\W{0,3}"
    r"(?:here\b|i(?:'ll| will| can| would)\b|let me\b)"
    r"|^\s*here(?:'s| is| are)\b"
    r"|\bhere(?:'s| is| are) (?:one|a|an|my|the|your)\s+(?:possible\s+|sample\s+|short\s+)?"
    r"(?:answer|line|reply|response|version|example|option|question|dialogue)"
    r"|\bas an ai\b|\bas a language model\b"
    r"|"
    + ASSISTANT_OFFER.pattern
    + r"|^\s*以下[はがに]|^\s*(?:はい|もちろん|了解です|了解)[、。!！]?\s*(?:以下|こちら)|(?:回答例|セリフ例)"
    r"|^\s*以下是|^\s*下面是|^\s*(?:好的|当然|没问题)[，,!！。]?\s*(?:以下|这是|下面)",
    re.I,
)
_THIRD_PERSON_VERBS = (
    r"(?:prefer|prefers|preferred|said|says|answered|answers|replied|replies|chose|chooses|wants|wanted|"
    r"likes|liked|is|was|seems|seemed|thinks|thought|would|has|had|feels|felt|decided|decides|loves|loved)"
)
_NARRATION = re.compile(
    r"\bthe (?:player|user)\b|\bthe (?:newcomer|new housemate)\s+" + _THIRD_PERSON_VERBS + r"\b"
    r"|プレイヤー|ユーザー|と(?:尋ねた|答えた|問いかけた)|新入り(?:さん)?[はが][^。？?]{0,30}(?:選んだ|答えた|好んだ)"
    r"|玩家|用户|(?:问道|说道|答道|回答道|笑着说)|新室友(?:选择了|回答说|更喜欢)",
    re.I,
)
# Present-tense actions: "Leo smiles and asks" narrates; "Mina said the fridge is full" is speech.
_ACTION_VERBS = (
    r"(?:smiles|laughs|nods|grins|sighs|leans|shrugs|winks|giggles|chuckles|beams|exclaims|whispers)"
)


def _has_markup(text: str) -> bool:
    return _MARKUP.search(text) is not None


def _label_pattern(names: Sequence[str]) -> str:
    return "|".join(re.escape(n) for n in sorted({n for n in names if n}, key=len, reverse=True))


def _has_label(text: str, speakers: Sequence[str]) -> bool:
    """A speaker's name followed by a colon anywhere, or a generic role label opening a line."""
    names = _label_pattern(speakers)
    if names and re.search(
        rf"(?:^|(?<=[\s\]】)*>]))(?:\*\*)?(?:{names})(?:\*\*)?\s*[:：]", text, re.I | re.M
    ):
        return True
    generic = _label_pattern(_GENERIC_LABELS)
    return re.search(rf"^\s*(?:\*\*)?(?:{generic})(?:\*\*)?\s*[:：]", text, re.I | re.M) is not None


def _has_list(text: str) -> bool:
    return _LIST.search(text) is not None


def _has_preamble(text: str, speakers: Sequence[str]) -> bool:
    if _PREAMBLE.search(text):
        return True
    names = _label_pattern(speakers)
    return bool(names) and re.match(rf"^\s*as (?:{names})\s*[,:]", text, re.I) is not None


def _narrates(text: str, speakers: Sequence[str], player: str) -> bool:
    if _NARRATION.search(text):
        return True
    names = _label_pattern(speakers)
    if names and re.search(rf"\b(?:{names})\s+{_ACTION_VERBS}\b", text, re.I):
        return True
    if player and not player.isascii():
        return False
    return (
        bool(player)
        and re.search(rf"\b{re.escape(player)}\s+{_THIRD_PERSON_VERBS}\b", text, re.I) is not None
    )


# -- a question ------------------------------------------------------------------------------------
# A sentence-final question form written without a question mark. Only forms that ask: musing
# "かな。", conjecture "でしょう。" / "だろう。", a negative "ません。", listing "とか、", and 呢 or
# 什么 in a statement ("是呢", "无论发生什么，") do not. Of the real YNTP-100 replies without a
# question mark (554 ja, 542 zh), the older rule (か, かな, でしょう, ません ...; 呢, 么, 如何 ...)
# took 25 % (ja) and 8 % (zh) for questions, and a reaction that mused "一番大事かな。" was rejected
# as asking one; this one takes 0.7 % and 4 %, questions all but a few ("…どうでしょうか", "你要一起吗").
_END = r"(?=[\s。．.!！…〜~♪)）」』]|$)"
_QUESTION = {
    "ja": re.compile(rf"(?:ですか|ますか|ませんか|でしょうか|だろうか|かしら|っけ){_END}"),
    "zh": re.compile(
        r"(?:吗|(?<![什怎那这多要])么|怎么样|(?<![无不])如何|(?:你|你们|您|大家)呢"
        r"|(?:什么(?!的)|怎么|哪|谁|几|多少)[^。！？!?，,\n]{0,15}呢"
        r"|是不是|对不对|好不好|要不要|行不行)(?=[\s。．.!！…~)）」』，,]|$)"
    ),
}


def asks_question(text: str, lang: str) -> bool:
    """A question mark, or (ja, zh) a sentence-final form that asks (``ですか``, ``吗``)."""
    if "?" in text or "？" in text:
        return True
    pattern = _QUESTION.get(lang)
    return pattern is not None and pattern.search(text) is not None


# -- the prompt given away --------------------------------------------------------------------------
# Words of the prompt's directions: a housemate repeating them is reading its instructions out.
_DIRECTION_MARKERS = (
    "want to find out",
    "wants to find out",
    "the gist",
    "instruction",
    "in your own words",
    "react briefly",
    "move the talk on",
    "conversation so far",
    "say your line",
    "never quote",
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


def echoes_instruction(text: str, intent: str) -> bool:
    """True when the model repeated the prompt's directions instead of speaking."""
    low = text.lower()
    if any(m in low for m in _DIRECTION_MARKERS):
        return True
    return bool(intent) and intent[:40].lower() in low


def leaked_instructions(text: str, protected: Sequence[str]) -> str | None:
    """Why ``text`` gives away its instructions (a marker word, or the copied run), or None."""
    low = text.casefold()
    marker = next((m for m in _LEAK_MARKERS if m in low), None)
    if marker is not None:
        return f"names its instructions ({marker!r})"
    run = copied_run(text, protected, min_words=LEAK_MIN_WORDS)
    return f"copies its instructions ({run!r})" if run is not None else None
