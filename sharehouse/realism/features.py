"""Per-reply style features: length, vocabulary variety, punctuation, emoji, line breaks, questions."""

from __future__ import annotations

import math
import re
import unicodedata

from sharehouse.personas.cleaning import EMOJI_RE

FEATURES_BY_LANGUAGE: dict[str, tuple[str, ...]] = {
    "en": ("chars", "words", "ttr", "punct_rate", "emoji_rate", "line_break", "question"),
    "ja": ("chars", "ttr", "punct_rate", "emoji_rate", "line_break", "question"),
    "zh": ("chars", "ttr", "punct_rate", "emoji_rate", "line_break", "question"),
}
FEATURE_HELP: dict[str, str] = {
    "chars": "characters per reply (spaces excluded)",
    "words": "words per reply",
    "ttr": "type-token ratio (words for en, characters for ja/zh)",
    "punct_rate": "punctuation marks per character",
    "emoji_rate": "emoji per character",
    "line_break": "share of replies with a line break",
    "question": "share of replies with a question mark",
}
_WORD_RE = re.compile(r"[a-z0-9]+(?:['’][a-z]+)?")


def _tokens(text: str, lang: str) -> list[str]:
    if lang == "en":
        return _WORD_RE.findall(text.lower())
    return [ch for ch in text if ch.isalnum()]


def style_features(text: str, lang: str) -> dict[str, float]:
    """Style features of one reply; the keys are ``FEATURES_BY_LANGUAGE[lang]``."""
    if lang not in FEATURES_BY_LANGUAGE:
        raise ValueError(f"unknown language {lang!r}; expected one of {sorted(FEATURES_BY_LANGUAGE)}")
    stripped = text.strip()
    visible = [ch for ch in stripped if not ch.isspace()]
    n_chars = len(visible)
    emoji = sum(
        len(m.group(0).replace("\ufe0f", "").replace("\u200d", "")) for m in EMOJI_RE.finditer(stripped)
    )
    punct = sum(1 for ch in visible if unicodedata.category(ch).startswith("P"))
    tokens = _tokens(stripped, lang)
    feats: dict[str, float] = {"chars": float(n_chars)}
    if lang == "en":
        feats["words"] = float(len(stripped.split()))
    feats["ttr"] = len(set(tokens)) / len(tokens) if tokens else 0.0
    feats["punct_rate"] = punct / n_chars if n_chars else 0.0
    feats["emoji_rate"] = emoji / n_chars if n_chars else 0.0
    feats["line_break"] = 1.0 if "\n" in stripped else 0.0
    feats["question"] = 1.0 if ("?" in stripped or "？" in stripped) else 0.0
    return feats


def feature_vector(text: str, lang: str) -> list[float]:
    """Features in a fixed order, lengths log-scaled, for distance-based comparisons."""
    feats = style_features(text, lang)
    return [
        math.log1p(feats[name]) if name in ("chars", "words") else feats[name]
        for name in FEATURES_BY_LANGUAGE[lang]
    ]
