"""Simple, checkable style statistics of a user's replies, stated in words for a prompt.

Length (words for English, characters for Japanese and Chinese), first-person pronouns,
punctuation habits, capitalisation and formality markers. Nothing here calls a model.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

_PRONOUNS: dict[str, tuple[str, ...]] = {
    "en": ("I", "me", "my", "mine", "we", "us", "our"),
    "ja": ("私", "わたし", "あたし", "僕", "ぼく", "俺", "おれ", "うち", "自分", "わたくし"),
    "zh": ("我们", "我", "咱们", "人家", "本人"),
}
_CASUAL_EN = re.compile(r"\b(lol|haha+|hehe|yeah|yep|nah|gonna|wanna|kinda|omg|btw|u|ur|ok|okay)\b", re.I)
_CONTRACTION_EN = re.compile(r"\b\w+(n't|'re|'ll|'ve|'m|'d)\b|\b(it|that|there|what|let|he|she)'s\b", re.I)
_POLITE_JA = re.compile(r"(です|ます|でした|ました|ません|ください|でしょう)")
_POLITE_ZH = re.compile(r"(您|请|谢谢|麻烦)")
_EMOJI = re.compile("[\U0001f300-\U0001faff\u2600-\u27bf]")
_WORD = re.compile(r"[A-Za-z0-9']+")


@dataclass
class StyleStats:
    language: str
    replies: int
    unit: str  # words | characters
    mean_length: float
    min_length: int
    max_length: int
    pronouns: list[tuple[str, int]] = field(default_factory=list)
    ends_with: list[tuple[str, float]] = field(default_factory=list)  # final mark -> share of replies
    exclamation_share: float = 0.0
    question_share: float = 0.0
    ellipsis_share: float = 0.0
    emoji_share: float = 0.0
    lowercase_start_share: float = 0.0
    formality: str = ""


def _length(text: str, language: str) -> int:
    if language == "en":
        return len(_WORD.findall(text))
    return len(re.sub(r"\s+", "", text))


def _share(values: Sequence[bool]) -> float:
    return sum(values) / len(values) if values else 0.0


def _final_mark(text: str) -> str:
    t = text.rstrip()
    if not t:
        return "nothing"
    if t.endswith(("...", "…", "・・・")):
        return "an ellipsis"
    ch = t[-1]
    names = {
        ".": "a period",
        "。": "a full stop 。",
        "!": "'!'",
        "！": "'！'",
        "?": "'?'",
        "？": "'？'",
        "~": "'~'",
        "～": "'～'",
    }
    if ch in names:
        return names[ch]
    if _EMOJI.match(ch):
        return "an emoji"
    return "no punctuation"


def _pronoun_counts(replies: Sequence[str], language: str) -> list[tuple[str, int]]:
    counts: Counter[str] = Counter()
    for r in replies:
        if language == "en":
            for w in _WORD.findall(r):
                if w in ("I", "i"):  # a lowercase "i" is a habit worth stating on its own
                    counts[w] += 1
                elif w.lower() in _PRONOUNS["en"]:
                    counts[w.lower()] += 1
        else:
            rest = r
            for p in _PRONOUNS.get(language, ()):  # longest forms first in the tuples that need it
                n = rest.count(p)
                if n:
                    counts[p] += n
                    rest = rest.replace(p, " ")
    return counts.most_common(4)


def _formality(replies: Sequence[str], language: str) -> str:
    if not replies:
        return ""
    if language == "ja":
        polite = _share([bool(_POLITE_JA.search(r)) for r in replies])
        if polite >= 0.6:
            return f"polite desu/masu forms in {polite:.0%} of replies"
        if polite <= 0.2:
            return f"plain (casual) forms; desu/masu in only {polite:.0%} of replies"
        return f"a mix of polite desu/masu ({polite:.0%} of replies) and plain forms"
    if language == "zh":
        polite = _share([bool(_POLITE_ZH.search(r)) for r in replies])
        return "polite markers (您/请/谢谢) are common" if polite >= 0.3 else "plain, everyday wording"
    casual = _share([bool(_CASUAL_EN.search(r)) for r in replies])
    contractions = _share([bool(_CONTRACTION_EN.search(r)) for r in replies])
    if casual >= 0.3:
        return f"casual (slang such as 'yeah', 'haha' in {casual:.0%} of replies)"
    if contractions >= 0.4:
        return "conversational, with contractions"
    return "fairly neutral or formal, few contractions or slang"


def style_stats(replies: Sequence[str], language: str) -> StyleStats:
    """Statistics of non-empty replies (an empty list gives zeros)."""
    texts = [r.strip() for r in replies if r.strip()]
    lengths = [_length(t, language) for t in texts] or [0]
    finals = Counter(_final_mark(t) for t in texts)
    return StyleStats(
        language=language,
        replies=len(texts),
        unit="words" if language == "en" else "characters",
        mean_length=statistics.fmean(lengths),
        min_length=min(lengths),
        max_length=max(lengths),
        pronouns=_pronoun_counts(texts, language),
        ends_with=[(mark, n / len(texts)) for mark, n in finals.most_common(3)] if texts else [],
        exclamation_share=_share([("!" in t or "！" in t) for t in texts]),
        question_share=_share([("?" in t or "？" in t) for t in texts]),
        ellipsis_share=_share([("..." in t or "…" in t) for t in texts]),
        emoji_share=_share([bool(_EMOJI.search(t)) for t in texts]),
        lowercase_start_share=_share([t[0].islower() for t in texts]) if language == "en" else 0.0,
        formality=_formality(texts, language),
    )


def describe_style(stats: StyleStats) -> str:
    """The statistics as short bullet lines for a prompt."""
    if stats.replies == 0:
        return "- (no earlier replies)"
    lines = [
        f"- Length: about {stats.mean_length:.0f} {stats.unit} per reply "
        f"(shortest {stats.min_length}, longest {stats.max_length}). Match this length closely.",
    ]
    if stats.pronouns:
        used = ", ".join(f"'{p}' ({n}x)" for p, n in stats.pronouns)
        lines.append(f"- First-person words used: {used}.")
    else:
        lines.append("- First-person pronouns are rarely used; the speaker often leaves them out.")
    if stats.ends_with:
        ends = ", ".join(f"{mark} ({share:.0%})" for mark, share in stats.ends_with)
        lines.append(f"- Replies end with: {ends}.")
    marks = []
    for name, share in (
        ("'!'", stats.exclamation_share),
        ("'?'", stats.question_share),
        ("ellipses", stats.ellipsis_share),
        ("emoji", stats.emoji_share),
    ):
        marks.append(f"{name} in {share:.0%}")
    lines.append(f"- Punctuation: {', '.join(marks)} of replies.")
    if stats.language == "en" and stats.lowercase_start_share >= 0.3:
        lines.append(f"- {stats.lowercase_start_share:.0%} of replies start with a lowercase letter.")
    if stats.formality:
        lines.append(f"- Register: {stats.formality}.")
    return "\n".join(lines)
