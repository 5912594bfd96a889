"""Turning raw model output into a reply the persona could have typed.

Small models add role labels, quotes, copies of the question or of the instructions, run on for
too long or drift out of the persona's habits. Everything here is deterministic.
"""

from __future__ import annotations

import difflib
import random
import re
from collections.abc import Sequence

from sharehouse.personas.models import Persona
from sharehouse.personas.stance import NOTE_MARKERS
from sharehouse.textclean import ASSISTANT_OFFER, JA_FIRST_PERSON, drop_dangling, drop_reason_lead

EMOJI_RE = re.compile(
    "["
    "\U0001f000-\U0001faff"  # pictographs, emoticons, transport, symbols & pictographs extended
    "\U0001f1e6-\U0001f1ff"  # regional indicators (flags)
    "\u2600-\u27bf"  # misc symbols, dingbats
    "\u2b00-\u2bff"  # arrows, stars
    "\u2300-\u23ff"  # technical (watch, hourglass)
    "\ufe0f\u200d\u20e3"  # variation selector, zero-width joiner, keycap
    "]+"
)
_SPECIAL_TOKENS_RE = re.compile(r"<\|[^|>]{1,40}\|>|</?s>|\[/?INST\]")
_GENERIC_LABELS = (
    "me",
    "user",
    "assistant",
    "a",
    "b",
    "you",
    "reply",
    "response",
    "answer",
    "human",
    "ai",
    "bot",
    "persona",
    "housemate",
    "私",
    "我",
    "自分",
    "あなた",
    "返信",
    "返事",
    "回答",
    "回复",
    "用户",
    "ユーザー",
)
#: Splits a text after each sentence end, keeping the marks with their sentence.
_SENTENCE_SPLIT = re.compile(r"(?<=[.!?。！？…\n])")
_LABEL_RE = re.compile(r"^\s*(?:\*\*)?([^\n:：*]{1,30}?)(?:\*\*)?\s*[:：]\s*")
# A day of the transcript as markup: "[Day 2]", "（1日目）", or bare before a colon ("1日目:", "Day 1,
# Morning:", "第1天："; the 0.5B model answered "1日目:" three times in a day-1 run, 2026-12-04).
_DAY = r"(?:day\s*\d+|\d+\s*日目|第\s*\d+\s*天)"
_DAY_MARK_RE = re.compile(
    rf"^\s*(?:[\[(（【]\s*{_DAY}\s*[\])）】]|{_DAY}(?:\s*[,，、]\s*[^:：\n]{{1,20}})?\s*[:：])\s*",
    re.IGNORECASE,
)
_INSTRUCTION_HINTS = (
    "reply as",
    "words",
    "lower case",
    "として",
    "文字",
    "返信",
    "身份",
    "回复",
    "个字",
    "字左右",
)
_GUIDANCE_RE = re.compile(
    r"\d+\s*[-〜~～]\s*\d+\s*(?:words|文字|个字|字)|about \d+ words|\d+文字くらい|大约\d+个字", re.IGNORECASE
)
_BULLET_RE = re.compile(r"^\s*(?:[-*•・]|\d+[.)])\s+")
_PAREN_RE = re.compile(r"[(（][^()（）\n]{0,80}[)）]")
_QUOTE_PAIRS = (('"', '"'), ("“", "”"), ("「", "」"), ("『", "』"), ("'", "'"), ("‘", "’"))
_AI_TELLS = (
    "as an ai",
    "language model",
    "i'm an ai",
    "i am an ai",
    "ai assistant",
    "aiとして",
    "aiアシスタント",
    "言語モデル",
    "作为一个ai",
    "作为ai",
    "ai助手",
    "人工智能助手",
    "语言模型",
)
_KANA_RE = re.compile(r"[\u3040-\u30ff]")
_CJK_RE = re.compile(r"[\u4e00-\u9fff\u3400-\u4dbf]")
_LATIN_RE = re.compile(r"[A-Za-z]")


def strip_emoji(text: str) -> str:
    return re.sub(r"[ \t]{2,}", " ", EMOJI_RE.sub("", text)).strip()


def _known_labels(persona: Persona, npc_names: Sequence[str]) -> set[str]:
    labels = {label.lower() for label in _GENERIC_LABELS}
    labels |= {persona.name.lower(), persona.first_name.lower()}
    labels |= {name.lower() for name in npc_names if name}
    return labels


#: A first person said twice where the note's "私なら" was copied after the model's own "私は"
#: ("私は私ならもちろん…", run q-d5-r5).
_DOUBLE_FIRST_PERSON = re.compile(rf"^(?:{JA_FIRST_PERSON}|自分)は、?(?=(?:{JA_FIRST_PERSON}|自分)なら)")


#: A reply opening on the first person as its topic ("私は計画を立てる…"): 20 of the 658 real
#: Japanese replies open so (私は 9, 自分は 5, 僕は 4, 俺は 2), and about half of the 1.5B model's
#: (run q-d5-r8), which reads like a composition. Japanese leaves the speaker unsaid.
_LEADING_FIRST_PERSON = re.compile(rf"^(?:{JA_FIRST_PERSON})は、?(?=[^、。！？!?\s]{{4}})")


def _strip_self_reference(text: str, persona: Persona) -> str:
    """Drop a role-play lead-in naming the persona itself: "As Jack, I'd…", "ユイとして、…",
    "作为小明，…" (a small model told to reply as the persona says so)."""
    for name in dict.fromkeys([persona.name, persona.first_name]):
        for lead in (
            f"As {name},",
            f"As {name} ",
            f"{name}として、",
            f"{name}としては、",
            f"作为{name}，",
            f"作为{name},",
        ):
            if text.startswith(lead):
                rest = text[len(lead) :].lstrip()
                return rest[:1].upper() + rest[1:] if persona.language == "en" else rest
    return text


#: A personality type named outright ("I'm an ENTP, so ..."; "MBTI"): the persona prompt states the
#: persona's type for the model, and a person in the chat never names it (none of the 1,804
#: YNTP-100 replies does; 1 of 21 English replies of run q-d5-r4 did).
_TYPE_TALK = re.compile(r"(?<![A-Za-z])(?:[EI][SN][TF][JP](?:-[AT])?|MBTI)(?![A-Za-z])")


def _drop_sentences(text: str, pattern: re.Pattern[str]) -> str:
    """``text`` without its sentences in which ``pattern`` is found ('' when it is in every one)."""
    if not pattern.search(text):
        return text
    return "".join(part for part in _SENTENCE_SPLIT.split(text) if not pattern.search(part)).strip()


def drop_type_talk(text: str) -> str:
    """``text`` without its sentences that name a personality type ('' when every one does)."""
    return _drop_sentences(text, _TYPE_TALK)


def drop_assistant_offers(text: str) -> str:
    """``text`` without its sentences that offer help as an assistant does
    (:data:`~sharehouse.textclean.ASSISTANT_OFFER`: "何か他に助けることがあればどうぞ教えてください")."""
    return _drop_sentences(text, ASSISTANT_OFFER)


#: The system prompt's "You are a real person" said back as a lead-in ("As a real person, I think ...").
_REAL_PERSON_LEAD = re.compile(r"^as a real person\b[,:]?\s*", re.IGNORECASE)


def _strip_stray_leads(text: str, npc_names: Sequence[str]) -> str:
    """Drop lead-ins a small model writes before the answer and people do not: the prompt's "As a
    real person," and "I think Kenji." (an opening wording run into the asker's name as a whole
    sentence; 3 of 40 English replies in the q-d5-final run, none of the real people's)."""
    before = text
    text = _REAL_PERSON_LEAD.sub("", text)
    names = "|".join(re.escape(n) for n in sorted({n for n in npc_names if n}, key=len, reverse=True))
    if names:
        text = re.sub(rf"^I think (?:{names})[.!]\s+(?=\S)", "", text)
    return text[:1].upper() + text[1:] if text != before else text


#: An assistant's moral a small model tacks onto an English answer ("It's important to respect
#: everyone's feelings."): in 25 % of the 1.5B model's English replies (run q-d5-final), 0.7 % of the
#: real people's (and "Do you have any other questions?"). Such a sentence is dropped when the reply
#: says something else.
_PLATITUDE = re.compile(
    r"^(?:(?:and|but|so|i think|overall),?\s+)?(?:it'?s|it is|this is|that'?s)\s+(?:also\s+|always\s+|really\s+|very\s+)*"
    r"(?:important|essential|crucial|a good way|a great way)\b"
    r"|^(?:do you have any (?:other|more|further) questions|let me know if|i hope (?:this|that) helps|feel free to"
    r"|is there (?:anything|something) else (?:you|i))\b",
    re.IGNORECASE,
)
_EN_SENTENCE = re.compile(r"(?<=[.!?])\s+")


#: A template's slot left in quoted speech ("Hey [name], I ..."); the real people wrote no brackets.
_PLACEHOLDER = re.compile(
    r"\s*[\[［](?:name|their name|your name|person|housemate|名前|名字|姓名)[\]］]", re.IGNORECASE
)


def drop_placeholders(text: str) -> str:
    """``text`` without template slots such as "[name]"."""
    return _PLACEHOLDER.sub("", text)


def drop_platitudes(text: str) -> str:
    """``text`` (English) without its sentences that are an assistant's moral (:data:`_PLATITUDE`);
    ``text`` itself when nothing else would be left."""
    parts = _EN_SENTENCE.split(text.strip())
    kept = [s for s in parts if not _PLATITUDE.match(s.strip())]
    if len(kept) == len(parts):
        return text
    rest = " ".join(kept).strip()
    return rest if any(ch.isalnum() for ch in rest) else text


def _strip_labels(text: str, labels: set[str]) -> str:
    for _ in range(4):
        text = _DAY_MARK_RE.sub("", text)
        match = _LABEL_RE.match(text)
        if not match or match.group(1).strip().lower() not in labels:
            break
        text = text[match.end() :]
    return text


def _cut_at_other_speaker(text: str, labels: set[str], npc_names: Sequence[str]) -> str:
    """Drop everything from the point where a new speaker label starts (model writing both sides)."""
    lines = text.split("\n")
    for i, line in enumerate(lines[1:], start=1):
        match = _LABEL_RE.match(line)
        if (match and match.group(1).strip().lower() in labels) or _DAY_MARK_RE.match(line):
            lines = lines[:i]
            break
    text = "\n".join(lines)
    for name in npc_names:
        if not name:
            continue
        found = re.search(rf"\s{re.escape(name)}\s*[:：]", text)
        if found and found.start() > 0:
            text = text[: found.start()]
    return text


def _strip_echoes(text: str, echoes: Sequence[str], npc_message: str | None) -> str:
    for echo in echoes:
        if echo and echo in text:
            text = text.replace(echo, " ")
    if npc_message and len(npc_message.strip()) >= 8:
        question, body = npc_message.strip(), text.lstrip()
        if body.startswith(question):
            text = body[len(question) :]
        elif body.startswith(question[:24]):
            text = body.split("\n", 1)[1] if "\n" in body else ""
    text = _PAREN_RE.sub(
        lambda m: "" if any(h in m.group(0).lower() for h in _INSTRUCTION_HINTS) else m.group(0), text
    )
    sources = [src for src in (npc_message, *echoes) if src]
    segments = _SENTENCE_SPLIT.split(text)
    return "".join(seg for seg in segments if not _is_echo(seg, sources))


def _is_echo(segment: str, sources: Sequence[str]) -> bool:
    """A piece of the reply that repeats the length guidance, the private note or someone else's
    words from the prompt."""
    bare = segment.strip()
    if not bare:
        return False
    if _GUIDANCE_RE.search(bare) or any(marker in bare.lower() for marker in NOTE_MARKERS):
        return True
    if len(bare) < 6:
        return False
    for source in sources:
        for part in _SENTENCE_SPLIT.split(source):
            part = part.strip()
            if len(part) >= 6 and difflib.SequenceMatcher(None, bare, part).ratio() >= 0.75:
                return True
    return False


def _strip_quotes(text: str) -> str:
    """Remove quotes wrapping the whole reply, and a dangling opening or closing quote."""
    for _ in range(2):
        text = text.strip()
        for left, right in _QUOTE_PAIRS:
            inner = text[len(left) : -len(right)]
            wrapped = len(text) >= 2 and text.startswith(left) and text.endswith(right)
            if wrapped and left not in inner and right not in inner:
                text = inner
                break
            if left != right and text.endswith(right) and left not in text:
                text = text[: -len(right)]
                break
            if left != right and text.startswith(left) and right not in text:
                text = text[len(left) :]
                break
            if left != right and text.startswith(right):  # "」 友達とは…": a closing mark opens nothing
                text = text[len(right) :]
                break
            if left == right and text.count(left) == 1 and (text.startswith(left) or text.endswith(left)):
                text = text.replace(left, "")
                break
    return text.strip()


def measure(text: str, lang: str) -> int:
    """Length in the persona's unit: words for English, non-space characters otherwise."""
    if lang == "en":
        return len(text.split())
    return len(re.sub(r"\s", "", text))


def truncate(text: str, lang: str, limit: int) -> str:
    """Shorten to at most ``limit`` words/characters, preferring to end on a whole sentence."""
    if measure(text, lang) <= limit:
        return text
    pieces = [p for p in _SENTENCE_SPLIT.split(text) if p]
    out = ""
    for piece in pieces:
        if measure(out + piece, lang) > limit:
            break
        out += piece
    if out.strip():
        return out.strip()
    if lang == "en":
        return " ".join(text.split()[:limit])
    kept, count = [], 0
    for ch in text:
        if not ch.isspace():
            count += 1
            if count > limit:
                break
        kept.append(ch)
    return "".join(kept).strip()


def join_sentences(first: str, then: str, lang: str) -> str:
    """Two parts of one reply as sentences: a stop after ``first`` when it has none (no space
    between CJK sentences)."""
    first = first.rstrip()
    if lang in ("ja", "zh"):
        return first + ("" if re.search(r"[。！？!?…~〜）)]$", first) else "。") + then.lstrip()
    return first + ("" if re.search(r"[.!?…)]$", first) else ".") + " " + then.lstrip()


#: How far over its aimed length a reply may run before it ends after its first sentences, per
#: language. Chinese is cut sooner: the 1.5B model's Chinese replies ran 1.32 times their aimed
#: length (median) and 54 characters against the real people's 38 (W/σ .52, run q-d5-r8); at 1.5
#: the same replies give W/σ .40. Japanese replies are on the short side (42 against 60) and English
#: ones on the mark, so both keep 2.
TRIM_OVER: dict[str, float] = {"en": 2.0, "ja": 2.0, "zh": 1.5}


def trim_to_length(text: str, lang: str, target: int, *, over: float | None = None, keep: float = 1.3) -> str:
    """A reply over ``over`` (by default the language's :data:`TRIM_OVER`) times the ``target``
    length (words for English, characters otherwise) ends after its first sentences that fit
    ``keep`` times the target (at least one sentence): the person sends what they meant to say and
    stops, where a small model goes on explaining."""
    over = TRIM_OVER.get(lang, 2.0) if over is None else over
    if target <= 0 or measure(text, lang) <= over * target:
        return text
    pieces = [p for p in _SENTENCE_SPLIT.split(text) if p.strip()]
    out = pieces[0]
    for piece in pieces[1:]:
        if measure(out + piece, lang) > keep * target:
            break
        out += piece
    return out.strip()


def enforce_style(text: str, persona: Persona) -> str:
    """Apply the habits that can be enforced mechanically (casing, emoji, line breaks, final stops)."""
    s = persona.style
    lang = persona.language
    if s.emoji_rate == 0:
        text = strip_emoji(text)
    if s.line_breaks == "never":
        text = re.sub(r"\s*\n\s*", " ", text)
    else:
        text = re.sub(r"\n{2,}", "\n", text)
    text = re.sub(r"[ \t]{2,}", " ", text).strip()
    # A doubled stop ("system..", "它。。") is a seam left where a clause was cut (2 of 567 real
    # English replies, no Japanese or Chinese one); "..." and "。。。" are kept.
    text = re.sub(r"(?<![.。])([.。])\1(?![.。])", r"\1", text)
    if s.casing == "lower":
        text = text.lower()
    if s.punctuation in ("none", "minimal"):
        text = re.sub(r"(?<![.。])[.。]$", "", text) if not text.endswith("...") else text
    if s.punctuation == "none":
        text = re.sub(r"(?<![.。])[.。](\s|$)", r"\1", text) if lang == "en" else text
    return text.strip()


def clean_reply(
    text: str,
    persona: Persona,
    *,
    npc_names: Sequence[str] = (),
    echoes: Sequence[str] = (),
    npc_message: str | None = None,
) -> str:
    """The model's raw text reduced to what the persona would send ('' when nothing is left)."""
    labels = _known_labels(persona, npc_names)
    text = _SPECIAL_TOKENS_RE.sub("", text).replace("\r\n", "\n").strip()
    text = _strip_labels(text, labels)
    text = _cut_at_other_speaker(text, labels, npc_names)
    text = _strip_echoes(text, echoes, npc_message)
    text = "\n".join(_BULLET_RE.sub("", line) for line in text.split("\n"))
    text = _strip_labels(text.strip(), labels)
    text = drop_assistant_offers(drop_type_talk(drop_placeholders(_strip_self_reference(text, persona))))
    if persona.language == "ja":
        text = _LEADING_FIRST_PERSON.sub("", _DOUBLE_FIRST_PERSON.sub("", text))
    if persona.language == "en":
        text = drop_platitudes(_strip_stray_leads(text, npc_names))
    text = _strip_quotes(text)
    text = drop_reason_lead(drop_dangling(text, persona.language), persona.language)
    text = enforce_style(text, persona)
    limit = max(persona.style.reply_length.max * 2, 8)
    return truncate(text, persona.language, limit)


def is_usable(text: str, lang: str) -> bool:
    """A non-empty reply with real words, in the right script, that is not an AI disclaimer."""
    bare = text.strip()
    if not bare or not any(ch.isalnum() for ch in bare):
        return False
    low = bare.lower()
    if any(tell in low for tell in _AI_TELLS):
        return False
    kana, cjk, latin = len(_KANA_RE.findall(bare)), len(_CJK_RE.findall(bare)), len(_LATIN_RE.findall(bare))
    if lang == "en":
        return latin > 0 and latin >= 2 * (kana + cjk)
    if lang == "ja":
        return kana > 0 or (0 < cjk <= 4 and latin == 0)
    return cjk > 0 and kana <= max(1, cjk // 10) and cjk + kana >= latin


def _normalise(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())


def whole_similarity(text: str, previous: Sequence[str]) -> float:
    """The highest similarity (0..1, ignoring case, spaces and punctuation) of ``text`` as a whole to
    one of ``previous``."""
    norm = _normalise(text)
    best = 0.0
    for prev in previous:
        other = _normalise(prev)
        if not other or not norm:
            continue
        if norm == other:
            return 1.0
        best = max(best, difflib.SequenceMatcher(None, norm, other).ratio())
    return best


def similarity(text: str, previous: Sequence[str]) -> float:
    """:func:`whole_similarity`, or 1.0 when a whole sentence of at least 16 letters of one of
    ``previous`` is inside ``text``."""
    norm = _normalise(text)
    for prev in previous:
        for part in _SENTENCE_SPLIT.split(prev):
            piece = _normalise(part)
            if len(piece) >= 16 and piece in norm:
                return 1.0
    return whole_similarity(text, previous)


#: Similarity (:func:`similarity`) from which a text is a copy, never kept.
COPY_SIMILARITY = 0.9


def is_repeat(text: str, previous: Sequence[str], threshold: float = COPY_SIMILARITY) -> bool:
    """True when the reply (ignoring case, spaces, punctuation) copies one of ``previous``, wholly or
    a whole sentence of it; ``threshold`` is the similarity from which a near copy counts.

    Very short replies ("ok", "はい") are never counted as copies: people do repeat those.
    """
    if len(_normalise(text)) < 4:
        return False
    return similarity(text, previous) >= threshold


def sentence_runs(text: str, longest: int) -> list[str]:
    """Every run of one to ``longest`` consecutive sentences of ``text``, as written (sentences end
    after a stop, and at line breaks)."""
    parts = [part.strip() for part in _SENTENCE_SPLIT.split(text) if part.strip()]
    return ["".join(parts[i : i + n]) for n in range(1, longest + 1) for i in range(len(parts) - n + 1)]


def copies_whole(text: str, previous: Sequence[str], threshold: float) -> bool:
    """Like :func:`is_repeat`, but on ``text`` as a whole (:func:`whole_similarity`): an earlier
    sentence inside a longer new text does not count."""
    return len(_normalise(text)) >= 4 and whole_similarity(text, previous) >= threshold


def add_typos(text: str, rate: float, rng: random.Random) -> str:
    """A slip in roughly ``rate`` of the words of four letters or more (English only): two
    neighbouring letters swapped, one dropped or one doubled, the kinds the real people's slips
    show ("aobut", "shoud", "sppace"). The first letter is never touched."""
    if rate <= 0:
        return text
    out = []
    for word in text.split(" "):
        if len(word) >= 4 and word.isalpha() and rng.random() < rate:
            i = rng.randrange(1, len(word) - 2)
            kind = rng.randrange(3)
            if kind == 0:
                word = word[:i] + word[i + 1] + word[i] + word[i + 2 :]
            elif kind == 1:
                word = word[:i] + word[i + 1 :]
            else:
                word = word[: i + 1] + word[i] + word[i + 1 :]
        out.append(word)
    return " ".join(out)


_FALLBACK: dict[str, tuple[str, ...]] = {
    # {pole}: the stance's side of the question; {I}: the persona's first-person pronoun (ja, zh).
    "en": ("Honestly, I'd {pole}.", "I think I'd {pole}, to be honest.", "For me? I'd {pole}."),
    "ja_casual": ("{I}なら、{pole}かな。", "うーん、{I}は{pole}と思う。", "{I}だったら{pole}かな。"),
    "ja_polite": (
        "{I}なら、{pole}と思います。",
        "{I}は{pole}かなと思います。",
        "{I}でしたら、{pole}と思います。",
    ),
    "zh": ("{I}的话，{pole}吧。", "嗯……{I}觉得{pole}。", "要是{I}，{pole}。"),
}
_FALLBACK_PLAIN: dict[str, tuple[str, ...]] = {
    # States that probe no dimension (a favourite memory, a goodbye).
    "en": ("It was a really good week, thanks everyone.", "Thanks for everything this week, really."),
    "ja_casual": ("この一週間、ほんとに楽しかった。ありがとう。", "みんな、一週間ありがとうね。"),
    "ja_polite": (
        "この一週間、本当に楽しかったです。ありがとうございました。",
        "皆さん、一週間ありがとうございました。",
    ),
    "zh": ("这一周真的很开心，谢谢大家。", "这几天谢谢大家的照顾。"),
}


def fallback_reply(
    persona: Persona, index: int, pole: str | None = None, previous: Sequence[str] = ()
) -> str:
    """A plain reply that states ``pole`` (the stance's side) in the persona's register, used when the
    model gave nothing usable. The wording rotates with ``index`` and never repeats ``previous``."""
    lang = persona.language
    voice = lang if lang != "ja" else ("ja_casual" if persona.style.formality == "casual" else "ja_polite")
    templates = _FALLBACK[voice] if pole else _FALLBACK_PLAIN[voice]
    first_person = persona.style.first_person or "I"
    candidates = [
        enforce_style(t.format(pole=pole or "", I=first_person), persona)
        for t in templates[index % len(templates) :] + templates[: index % len(templates)]
    ]
    return next((c for c in candidates if not is_repeat(c, previous)), candidates[0])
