"""Seeded, balanced persona generation from the curated pools."""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Sequence
from typing import TypeVar

from sharehouse.lang import LANGS
from sharehouse.personas import pools
from sharehouse.personas.models import (
    MBTI_TYPES,
    LengthRange,
    MBTIStrength,
    Persona,
    StyleExample,
    WritingStyle,
)

T = TypeVar("T")

SUPPORTED_LANGUAGES: tuple[str, ...] = LANGS

_AGE_BANDS: tuple[tuple[int, int, float], ...] = (
    (18, 24, 0.25),
    (25, 34, 0.35),
    (35, 49, 0.22),
    (50, 64, 0.12),
    (65, 78, 0.06),
)
_FORMALITY_WEIGHTS: dict[str, dict[str, float]] = {
    "en": {"casual": 0.35, "neutral": 0.35, "polite": 0.2, "very_polite": 0.1},
    "ja": {"casual": 0.25, "neutral": 0.25, "polite": 0.33, "very_polite": 0.17},
    "zh": {"casual": 0.35, "neutral": 0.33, "polite": 0.22, "very_polite": 0.1},
}
_SENTENCE_START_RE = re.compile(r"(?:^|(?<=[.!?]\s)|(?<=\n))[a-z]")
_END_MARKS = ("?", "？", "!", "！", "〜", "~")
_COMMAS = {"en": ",", "ja": "、", "zh": "，"}
_PERIOD = {"en": ".", "ja": "。", "zh": "。"}
_EXCLAIM = {"en": "!", "ja": "！", "zh": "！"}
_ELLIPSIS = {"en": "...", "ja": "…", "zh": "……"}


def generate_personas(n: int, seed: int = 0, languages: Sequence[str] = SUPPORTED_LANGUAGES) -> list[Persona]:
    """``n`` varied personas, balanced over languages and the 16 MBTI types; same seed, same list."""
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    langs = list(dict.fromkeys(languages))
    unknown = [lang for lang in langs if lang not in SUPPORTED_LANGUAGES]
    if not langs or unknown:
        raise ValueError(
            f"languages must be a non-empty subset of {SUPPORTED_LANGUAGES}, got {list(languages)}"
        )
    rng = random.Random(seed)
    language_plan = _balanced(langs, n, rng)
    type_plan = _balanced(list(MBTI_TYPES), n, rng)
    state = {lang: _LanguageState() for lang in langs}
    personas: list[Persona] = []
    for lang, mbti in zip(language_plan, type_plan, strict=True):
        st = state[lang]
        st.count += 1
        personas.append(_make_persona(f"p-{lang}-{st.count:03d}", lang, mbti, rng, st))
    return personas


class _LanguageState:
    """What was already used within one language, to spread the draws."""

    def __init__(self) -> None:
        self.count = 0
        self.names: set[str] = set()
        self.usage: Counter[str] = Counter()


def _balanced(items: list[T], n: int, rng: random.Random) -> list[T]:
    """Shuffled blocks of ``items`` so that every item appears n/len(items) times, give or take one."""
    out: list[T] = []
    while len(out) < n:
        block = list(items)
        rng.shuffle(block)
        out.extend(block)
    return out[:n]


def _least_used(options: Sequence[T], key: str, st: _LanguageState, rng: random.Random) -> T:
    """Pick among the options used least so far (ties broken by the seeded rng)."""
    counts = [st.usage[f"{key}:{_label(o)}"] for o in options]
    low = min(counts)
    choice = rng.choice([o for o, c in zip(options, counts, strict=True) if c == low])
    st.usage[f"{key}:{_label(choice)}"] += 1
    return choice


def _label(option: object) -> str:
    if isinstance(option, pools.Occupation | pools.Tagged):
        return option.text["en"]
    if isinstance(option, dict):
        return str(option["en"])
    return str(option)


def _weighted(weights: dict[str, float], rng: random.Random) -> str:
    keys = list(weights)
    return rng.choices(keys, weights=[weights[k] for k in keys], k=1)[0]


def _weighted_sample(
    items: Sequence[pools.Tagged], mbti: str, k: int, rng: random.Random
) -> list[pools.Tagged]:
    """k distinct items, favouring those tagged with one of the persona's MBTI letters."""
    pool = list(items)
    chosen: list[pools.Tagged] = []
    for _ in range(min(k, len(pool))):
        weights = [3.0 if t.tags and t.tags in mbti else (1.0 if not t.tags else 0.6) for t in pool]
        pick = rng.choices(range(len(pool)), weights=weights, k=1)[0]
        chosen.append(pool.pop(pick))
    return chosen


def _make_persona(pid: str, lang: str, mbti: str, rng: random.Random, st: _LanguageState) -> Persona:
    gender = rng.choice(("female", "male"))
    name = _unique_name(lang, gender, rng, st)
    low, high, _ = rng.choices(_AGE_BANDS, weights=[b[2] for b in _AGE_BANDS], k=1)[0]
    age = rng.randint(low, high)
    fitting = [o for o in pools.OCCUPATIONS if o.min_age <= age <= o.max_age]
    occupation = _least_used(fitting, "job", st, rng)
    origin = _least_used(pools.ORIGINS, "origin", st, rng)
    situation = _least_used(pools.SITUATIONS, "situation", st, rng)
    strength = MBTIStrength(**{dim: round(rng.uniform(0.55, 0.95), 2) for dim in ("ei", "sn", "tf", "jp")})
    values = [v.text[lang] for v in _weighted_sample(pools.VALUES, mbti, rng.randint(2, 3), rng)]
    prefs = [p.text[lang] for p in _weighted_sample(pools.PREFERENCES, mbti, rng.randint(2, 3), rng)]
    return Persona(
        id=pid,
        name=name,
        language=lang,  # type: ignore[arg-type]
        age=age,
        occupation=occupation.text[lang],
        background=_background(lang, origin[lang], situation[lang]),
        mbti=mbti,
        mbti_strength=strength,
        values=values,
        preferences=prefs,
        style=_make_style(lang, mbti, age, gender, rng),
    )


def _unique_name(lang: str, gender: str, rng: random.Random, st: _LanguageState) -> str:
    names = pools.NAMES[lang]
    for _ in range(200):
        given, family = rng.choice(names[gender]), rng.choice(names["surnames"])
        full = f"{given} {family}" if lang == "en" else f"{family}{given}"
        if full not in st.names:
            st.names.add(full)
            return full
    raise ValueError(f"ran out of distinct {lang} names; the pools are too small for this many personas")


def _background(lang: str, origin: str, situation: str) -> str:
    if lang == "en":
        return f"{origin}; {situation}."
    if lang == "ja":
        return f"{origin}。{situation}。"
    return f"{origin}，{situation}。"


def _make_style(lang: str, mbti: str, age: int, gender: str, rng: random.Random) -> WritingStyle:
    """Writing habits drawn from the real participants' per-language shares (pools.STYLE_CALIBRATION)."""
    cal = pools.STYLE_CALIBRATION[lang]
    extravert = mbti[0] == "E"
    # Equal thirds on average, as in the real data; extraverts lean a little longer.
    elaboration = _weighted(
        {"terse": 0.28 if extravert else 0.38, "moderate": 0.34, "elaborate": 0.38 if extravert else 0.28},
        rng,
    )
    formality_w = dict(_FORMALITY_WEIGHTS[lang])
    if age >= 50:
        formality_w["casual"] *= 0.3
        formality_w["polite"] *= 1.6
    formality = _weighted(formality_w, rng)
    punctuation = _weighted(cal["punctuation"], rng)
    emoji_rate = rng.choice(cal["emoji_rates"]) if rng.random() < cal["emoji_people"] else 0.0
    lower_p = cal["lower_people"] * (2.0 if formality == "casual" else 1.0)
    casing = "lower" if lang == "en" and rng.random() < lower_p else "normal"
    line_breaks = "never" if elaboration == "terse" else _weighted(cal["line_breaks"], rng)
    typo_rate = rng.choice(cal["typo_rates"])
    question_rate = rng.choice(cal["question_rates"])
    (min_lo, min_hi), (max_lo, max_hi) = cal["length_bands"][elaboration]
    reply_length = LengthRange(
        min=rng.randint(min_lo, min_hi),
        max=rng.randint(max_lo, max_hi),
        unit="words" if lang == "en" else "chars",
    )
    first_person = rng.choice(pools.FIRST_PERSON[lang][formality][gender]) if lang != "en" else None
    style = WritingStyle(
        reply_length=reply_length,
        formality=formality,  # type: ignore[arg-type]
        first_person=first_person,
        punctuation=punctuation,  # type: ignore[arg-type]
        emoji_rate=emoji_rate,
        casing=casing,  # type: ignore[arg-type]
        line_breaks=line_breaks,  # type: ignore[arg-type]
        typo_rate=typo_rate,
        elaboration=elaboration,  # type: ignore[arg-type]
        question_rate=question_rate,
        sample_replies=["-", "-"],  # replaced just below, once the habits are known
    )
    examples = compose_examples(lang, style, rng)
    return style.model_copy(update={"style_examples": examples, "sample_replies": []})


_OPENERS: dict[str, dict[str, tuple[str, ...]]] = {
    # A few words that set the register of an example answer (en and zh; ja has its own clauses).
    "en": {
        "casual": ("honestly", "ha", "ngl", ""),
        "neutral": ("", "well", "hmm"),
        "polite": ("thanks for asking", "oh, nice question"),
        "very_polite": ("that is kind of you to ask", "thank you for asking"),
    },
    "zh": {
        "casual": ("哈哈", "害", ""),
        "neutral": ("", "嗯"),
        "polite": ("谢谢关心", ""),
        "very_polite": ("谢谢您关心", "承蒙您问起"),
    },
    "ja": {
        "casual": ("", "んー"),
        "neutral": ("",),
        "polite": ("",),
        "very_polite": ("お気遣いありがとうございます",),
    },
}


def compose_examples(lang: str, style: WritingStyle, rng: random.Random, k: int = 3) -> list[StyleExample]:
    """``k`` everyday questions (food, weekend, work, weather, films…) answered in the persona's style:
    its length, register, punctuation, line breaks, emoji, casing and questions back."""
    from sharehouse.personas.cleaning import measure

    voice = lang if lang != "ja" else ("ja_casual" if style.formality == "casual" else "ja_polite")
    topics = rng.sample(pools.STYLE_TOPICS, k)
    lo, hi = style.reply_length.min, style.reply_length.max
    targets = [lo + (hi - lo) * f for f in (0.5, 0.2, 0.85)][:k]
    rng.shuffle(targets)
    with_emoji = max(1, round(style.emoji_rate * k)) if style.emoji_rate > 0 else 0
    asks = round(style.question_rate * k + rng.random() * 0.5)
    with_opener = rng.randrange(k)  # one example only: an opener on every answer becomes a catchphrase
    out: list[StyleExample] = []
    for i, (topic, target) in enumerate(zip(topics, targets, strict=True)):
        opener = rng.choice(_OPENERS[lang][style.formality]) if i == with_opener else ""
        parts: list[str] = []
        first, *rest = topic.clauses[voice]
        for clause in [first, *rng.sample(rest, len(rest))]:
            if parts and measure(" ".join([opener, *parts]), lang) >= target:
                break
            parts.append(clause)
        if opener:
            sep = "。" if opener.endswith("ます") else {"en": ", ", "ja": "、", "zh": "，"}[lang]
            parts[0] = opener + sep + parts[0]
        if i < asks:
            parts.append(rng.choice(pools.QUESTION_BACK[voice]))
        breaks = style.line_breaks == "often" or (style.line_breaks == "sometimes" and i == 0)
        text = _join_units(parts, lang, style.punctuation, breaks and len(parts) > 1)
        if lang == "en" and style.typo_rate >= 0.03 and i == 0:
            text = _typo(text)
        if i < with_emoji:
            text += (" " if lang == "en" else "") + rng.choice(pools.EMOJI)
        if style.casing == "lower":
            text = text.lower()
        elif lang == "en":
            text = _SENTENCE_START_RE.sub(lambda m: m.group(0).upper(), text)
        out.append(StyleExample(question=topic.question[lang], answer=text))
    return out


def _join_units(parts: list[str], lang: str, punctuation: str, line_breaks: bool) -> str:
    finished: list[str] = []
    for i, unit in enumerate(parts):
        last = i == len(parts) - 1
        if punctuation == "none":
            unit = unit.replace(_COMMAS[lang] + " " if lang == "en" else _COMMAS[lang], " ")
        if unit.endswith(_END_MARKS):
            finished.append(unit)
            continue
        mark = {
            "none": "",
            "minimal": "" if last else _PERIOD[lang],
            "full": _PERIOD[lang],
            "exclamations": _EXCLAIM[lang],
            "ellipses": _ELLIPSIS[lang],
        }[punctuation]
        finished.append(unit + mark)
    if line_breaks:
        return "\n".join(finished)
    if lang == "en":
        return " ".join(finished)
    out = finished[0]
    for piece in finished[1:]:
        out += piece if out.endswith(("。", "！", "？", "…", "〜")) else " " + piece
    return out


def _typo(text: str) -> str:
    """Swap two letters in the middle of the longest word: a deterministic slip of the finger."""
    words = text.split(" ")
    idx = max(range(len(words)), key=lambda i: (sum(ch.isalpha() for ch in words[i]), -i))
    word = words[idx]
    letters = [i for i, ch in enumerate(word) if ch.isalpha()]
    if len(letters) < 4:
        return text
    a = letters[len(letters) // 2 - 1]
    chars = list(word)
    chars[a], chars[a + 1] = chars[a + 1], chars[a]
    words[idx] = "".join(chars)
    return " ".join(words)
