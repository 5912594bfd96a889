"""Text hygiene shared by the engine, the simulator and the evaluator.

- :func:`sanitize_input`: what a person or a file typed, made safe to store and display
  (ANSI escapes and control characters removed, newlines kept).
- :func:`clean_generated`: what a model wrote, reduced to the spoken line (no role labels,
  quotes, reasoning blocks or continued dialogue).
- :func:`script_matches`: whether a text is written in the script of a language.
- :func:`copied_run`: a long run of words (or CJK characters) that a text shares with a source,
  e.g. a model line that reproduces its own instructions.
- :func:`normalise`: the form in which two texts are compared for repeats (lower case,
  punctuation removed, whitespace collapsed), as in the dialogue-quality measures.
- :func:`clauses` / :func:`drop_repeated_clauses`: a reply's clauses, and the reply without the
  ones an earlier reply already said ("I care about family" in every answer).
- :func:`sentences` / :func:`drop_near_repeated_sentences`: a reply's sentences, and the reply
  without the ones that say an earlier reply's sentence again in other words.
- :func:`phrases` / :func:`drop_reused_phrases`: a reply's longer runs of words, and the reply
  without the clauses that reuse one an earlier reply held ("因为我觉得这样可以避免不必要的麻烦" in
  answer after answer).
- :func:`opener` / :func:`drop_opener`: a reply's opening interjection ("Sure,", "Absolutely!",
  "そうだね、"), which a small model repeats turn after turn where people vary it.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Sequence

_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(\x07|\x1b\\)|\x1b[@-Z\\-_]")
# Zero-width joiner and non-joiner (U+200C, U+200D) stay: emoji sequences and several scripts need them.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_THINK = re.compile(r"<think>.*?(</think>|$)", re.S | re.I)
_FENCE = re.compile(r"```[a-zA-Z]*\n?|```")
#: An assistant's offer of help ("let me know if you need anything", "お手伝いできるよ", "有什么可以帮
#: 你的"): no housemate line and no reply of the 1,804 real YNTP-100 turns holds one; the 1.5B
#: model's Japanese housemates and simulated users wrote them (run q-d5-r8), the users where their
#: note asked them to ask something back ("ご希望のことをお知らせください").
ASSISTANT_OFFER = re.compile(
    r"\bhow (?:can|may) i (?:help|assist)\b|\blet me know if (?:there(?:'s| is) anything|you need)\b"
    r"|お手伝いでき|お役に立|(?:助け|手伝)(?:る|られる)ことがあれば|お知らせください|お申し付け"
    r"|有什么(?:可以|需要|能)(?:帮|为)|帮(?:助)?(?:到)?您|为您(?:服务|效劳)",
    re.IGNORECASE,
)
_QUOTE_PAIRS = [('"', '"'), ("“", "”"), ("「", "」"), ("『", "』"), ("'", "'"), ("‘", "’")]
_LABEL = re.compile(
    r"^\s*(?:\*\*)?(?:[A-Z][\w .'-]{0,30}|[\u3040-\u30ff\u4e00-\u9fff\w]{1,12}|A|B|Q|User|Assistant|Player|"
    r"Reply|Response|Answer|Me|You|回答|返答|返信|答复|回复|我|私)(?:\*\*)?\s*[:：]\s*"
)

_SAYS = re.compile(r"^\s*(?:\w+\s+){0,2}(?:could|might|would|will)\s+(?:say|reply|respond)\s*[:：]\s*", re.I)

MAX_INPUT_CHARS = 20_000


def sanitize_input(text: str, *, max_chars: int = MAX_INPUT_CHARS) -> str:
    """Remove terminal escapes and control characters; normalise newlines; cap the length."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _ANSI.sub("", text)
    text = _CONTROL.sub("", text)
    text = unicodedata.normalize("NFC", text)
    # Strip again after the cut, so that sanitising twice changes nothing.
    return text.strip()[:max_chars].rstrip()


def normalise(text: str) -> str:
    """Lower case (NFKC, case-folded), every character that is not a letter or digit made a space,
    whitespace collapsed: "Sure, why NOT! 😆" and "sure why not" compare equal."""
    text = unicodedata.normalize("NFKC", text).casefold()
    return " ".join("".join(ch if ch.isalnum() else " " for ch in text).split())


# A reply's opener: a short first clause closed by a comma, stop or exclamation ("Sure, ...",
# "Absolutely! ...", "Hmm... ", "そうだね、..."): at most two words (English) or eight characters.
_OPENER_EN = re.compile(r"\s*([A-Za-z']+(?: [A-Za-z']+)?)\s*(?:[,!.…]+|\s+-+)\s*")
_OPENER_CJK = re.compile(r"\s*([^\s、。！？!?,，.…]{1,8})\s*[、。！？!?,，.…]+\s*")


def _opener_match(text: str, lang: str) -> re.Match[str] | None:
    return (_OPENER_EN if lang == "en" else _OPENER_CJK).match(text)


def opener(text: str, lang: str) -> str | None:
    """The reply's opening interjection, normalised ("Sure, why not" -> "sure"); None without one."""
    match = _opener_match(text, lang)
    return normalise(match.group(1)) or None if match else None


def drop_opener(text: str, lang: str) -> str:
    """``text`` without its opener (the next word capitalised in English); ``text`` itself when it
    has no opener or is nothing but one."""
    match = _opener_match(text, lang)
    rest = text[match.end() :] if match else ""
    if not is_substantive(rest):
        return text
    return rest[0].upper() + rest[1:] if lang == "en" and not text[:1].islower() else rest


# Clauses: what lies between sentence or clause punctuation; a clause counts once it holds this many
# letters or digits (a short "I think" or "そうだね" is not a repeat worth the name).
#: a line opening with this many of a reply's first words (English) or characters (CJK, letters
#: only) speaks from the reply's point of view: "我会尽量低调处理" after "我会尽量不声张，..."
OPENING_WORDS = 3
OPENING_CHARS = 4


def opens_like(line: str, reply: str, lang: str) -> bool:
    """``line`` opens with the first words of ``reply`` (once normalised): a housemate saying the
    player's answer back in the player's own voice. The real people's housemates did so in 2 of
    1,704 lines (a greeting returned, a quoted phrase explained)."""
    a, b = normalise(line), normalise(reply)
    if lang == "en":
        wa, wb = a.split(), b.split()
        return len(wa) >= OPENING_WORDS and wa[:OPENING_WORDS] == wb[:OPENING_WORDS]
    a, b = a.replace(" ", ""), b.replace(" ", "")
    return len(a) >= OPENING_CHARS and a[:OPENING_CHARS] == b[:OPENING_CHARS]


#: A reply's start: its first words (English) or letters (CJK). Two replies with the same start
#: open alike ("I'd definitely ...", "私なら..."); the real people's replies did so in 15 % (en,
#: mostly "I think"), 6 % (ja) and 8 % (zh, mostly "我觉得") against an earlier reply of the session.
START_WORDS = 2
START_CHARS = 3


def _words(text: str) -> str:
    """:func:`normalise` with apostrophes removed first, so that "I'd" stays one word."""
    return normalise(re.sub(r"['’]", "", text))


#: The words that give a reason, per language. Japanese から / ため count only where they close a
#: clause (before punctuation, a copula or a sentence-final particle), not as "from" (明日から始める).
_REASON_WORDS: dict[str, re.Pattern[str]] = {
    "en": re.compile(r"\b(?:because|'?cause|cuz|since)\b", re.IGNORECASE),
    "ja": re.compile(r"ので|(?:から|ため)(?=$|[。、！？!?,.…\s」）)]|です|だ|かな|かも|ね|よ|な|さ|に)"),
    "zh": re.compile(r"因为|由于|为了|所以"),
}


def gives_reason(text: str, lang: str) -> bool:
    """Whether ``text`` holds a word that gives a reason ("because", "…から。", "因为")."""
    pattern = _REASON_WORDS.get(lang)
    return bool(pattern and pattern.search(text))


#: The Japanese words for "I" a reply may open with, as a regex alternation (自分 apart: it is also
#: "oneself").
JA_FIRST_PERSON = "私|僕|俺|わたし|あたし|うち"

#: A reply opening with the speaker's "I" (not "we"), per language.
_OPENS_WITH_I: dict[str, re.Pattern[str]] = {
    "en": re.compile(r"\s*(?:I|I'm|I'd|I'll|I've|Me|My)\b"),
    "ja": re.compile(rf"\s*(?:{JA_FIRST_PERSON}|自分)(?!たち|ら|達)"),
    "zh": re.compile(r"\s*(?:我|人家|咱)(?!们)"),
}


def opens_with_i(text: str, lang: str) -> bool:
    """Whether ``text`` opens with the speaker's "I" ("I'd …", "私は…", "我会…"; "we" does not count)."""
    pattern = _OPENS_WITH_I.get(lang)
    return bool(pattern and pattern.match(text))


def start(text: str, lang: str) -> str | None:
    """The normalised first :data:`START_WORDS` words (English) or :data:`START_CHARS` letters (CJK)
    of ``text``; None when it is shorter than that."""
    norm = _words(text)
    if lang == "en":
        words = norm.split()
        return " ".join(words[:START_WORDS]) if len(words) >= START_WORDS else None
    letters = norm.replace(" ", "")
    return letters[:START_CHARS] if len(letters) >= START_CHARS else None


_CLAUSE_END = re.compile(r"([.!?。！？…\n,，、;；]+)")
_CLAUSE_MIN = {"en": 12, "ja": 6, "zh": 5}


def _clause_key(part: str, lang: str) -> str | None:
    key = normalise(part)
    return key if len(key.replace(" ", "")) >= _CLAUSE_MIN.get(lang, 12) else None


def clauses(text: str, lang: str) -> set[str]:
    """The normalised clauses of ``text`` long enough to count as a repeat."""
    keys = (_clause_key(part, lang) for part in _CLAUSE_END.split(text))
    return {k for k in keys if k}


def drop_repeated_clauses(text: str, lang: str, earlier: set[str]) -> str:
    """``text`` without the clauses (and their punctuation) found in ``earlier`` (see :func:`clauses`);
    ``text`` itself when nothing substantive would be left."""
    parts = _CLAUSE_END.split(text)
    kept: list[str] = []
    for i in range(0, len(parts), 2):
        clause, mark = parts[i], parts[i + 1] if i + 1 < len(parts) else ""
        if _clause_key(clause, lang) in earlier:
            if kept and mark.strip(",，、;； "):  # the dropped clause ended a sentence: keep its end
                kept[-1] = kept[-1].rstrip(",，、;； ") + mark.strip(",，、;； ")
            continue
        kept.append(clause + mark)
    rest = "".join(kept).strip().rstrip(",，、;；").strip()
    return rest if is_substantive(rest) and rest != text.strip() else text


#: A sentence says an earlier reply's sentence again in other words ("それが自分自身の成長に繋がりますね"
#: after "自分自身の成長に繋がります") when at least this share of its words (CJK: character pairs) is in
#: one earlier sentence of the session. Replies holding one, YNTP-100: .005 en, .009 ja, .002 zh; the
#: 1.5B model's Japanese replies .10-.23 (runs q-d5-final, q-d5-ja-r1), past the exact-clause guard.
NEAR_SENTENCE_SHARE = 0.7
#: ... for sentences of at least this many words (English) or letters (CJK)
_SENTENCE_MIN = {"en": 5, "ja": 8, "zh": 6}
#: ... and not this much made of the housemate's line (taking up the question's words is answering)
_HEARD_SHARE = 0.5
_SENTENCE_END = re.compile(r"([.!?。！？…\n]+)")


def _sentence_key(part: str, lang: str) -> str | None:
    key = normalise(part)
    size = len(key.split()) if lang == "en" else len(key.replace(" ", ""))
    return key if size >= _SENTENCE_MIN.get(lang, 5) else None


def sentences(text: str, lang: str) -> list[str]:
    """The normalised sentences of ``text`` long enough to count as a near repeat."""
    keys = (_sentence_key(part, lang) for part in _SENTENCE_END.split(text))
    return [k for k in keys if k]


def _near_repeat(key: str, earlier: Iterable[str], heard: str) -> bool:
    if heard and share_in(key, heard) >= _HEARD_SHARE:
        return False
    return any(share_in(key, e) >= NEAR_SENTENCE_SHARE for e in earlier)


def repeats_a_sentence(text: str, lang: str, earlier: Sequence[str], heard: str = "") -> bool:
    """A sentence of ``text`` says one of ``earlier`` (:func:`sentences` of the session's replies)
    again, nearly word for word, without being taken from ``heard`` (the line it answers)."""
    return any(_near_repeat(k, earlier, heard) for k in sentences(text, lang))


def drop_near_repeated_sentences(text: str, lang: str, earlier: Sequence[str], heard: str = "") -> str:
    """``text`` without its sentences that :func:`repeats_a_sentence` finds; ``text`` itself when
    nothing substantive would be left."""
    parts = _SENTENCE_END.split(text)
    kept: list[str] = []
    for i in range(0, len(parts), 2):
        sentence, mark = parts[i], parts[i + 1] if i + 1 < len(parts) else ""
        key = _sentence_key(sentence, lang)
        if key is not None and _near_repeat(key, earlier, heard):
            continue
        kept.append(sentence + mark)
    rest = "".join(kept).strip()
    return rest if is_substantive(rest) and rest != text.strip() else text


#: A phrase: a run of this many words (English) or letters (CJK) within one clause. A CJK run counts
#: only with at least :data:`PHRASE_HAN` kanji / hanzi in it, so that stock endings made of kana
#: ("いいんじゃないか", "はどうでしょうか") are not phrases. Replies reusing a phrase of an earlier
#: reply of the session that the line they answer does not hold, YNTP-100: .018 en, .035 ja,
#: .009 zh; the 1.5B model's .105 en and .231 zh (run q-d5-r3), past the exact-clause guard.
PHRASE_WORDS = 5
PHRASE_CHARS = 8
PHRASE_HAN = 3
_HAN = re.compile(r"[\u4e00-\u9fff]")
_ENDED = re.compile(r"[.!?。！？…]\s*$")


def phrases(text: str, lang: str) -> set[str]:
    """The normalised phrases (:data:`PHRASE_WORDS` words, or :data:`PHRASE_CHARS` letters with
    :data:`PHRASE_HAN` kanji / hanzi) of each clause of ``text``."""
    out: set[str] = set()
    for clause in _CLAUSE_END.split(text)[::2]:
        norm = _words(clause)
        if lang == "en":
            words = norm.split()
            out |= {" ".join(words[i : i + PHRASE_WORDS]) for i in range(len(words) - PHRASE_WORDS + 1)}
            continue
        letters = norm.replace(" ", "")
        runs = (letters[i : i + PHRASE_CHARS] for i in range(len(letters) - PHRASE_CHARS + 1))
        out |= {run for run in runs if len(_HAN.findall(run)) >= PHRASE_HAN}
    return out


def reuses_a_phrase(text: str, lang: str, earlier: set[str], heard: str = "") -> bool:
    """``text`` holds a phrase of ``earlier`` (:func:`phrases` of the session's replies) that
    ``heard`` (the line it answers) does not hold."""
    return bool((phrases(text, lang) - phrases(heard, lang)) & earlier)


def drop_reused_phrases(text: str, lang: str, earlier: set[str], heard: str = "") -> str:
    """``text`` without the clauses that :func:`reuses_a_phrase` finds (a clause that ended a
    sentence leaves its full stop); ``text`` itself when nothing substantive would be left."""
    own = earlier - phrases(heard, lang)
    parts = _CLAUSE_END.split(text)
    kept: list[str] = []
    cut = False  # a clause of the current sentence was dropped
    for i in range(0, len(parts), 2):
        clause, mark = parts[i], parts[i + 1] if i + 1 < len(parts) else ""
        ends = bool(mark.strip(",，、;； "))
        # what is left of a sentence after a dropped clause, too short to be a clause ("honestly.")
        if phrases(clause, lang) & own or (cut and _clause_key(clause, lang) is None):
            if kept and ends and not _ENDED.search(kept[-1]):
                kept[-1] = kept[-1].rstrip(",，、;； ") + mark.strip(",，、;； ")
            cut = not ends
            continue
        cut = False
        kept.append(clause + mark)
    rest = "".join(kept).strip().rstrip(",，、;；").strip()
    return rest if is_substantive(rest) and rest != text.strip() else text


# A connective left hanging at the end ("理由は。。。", "because", "因为"): the model stopped before the
# reason, or the reason was a clause already said and was dropped.
_DANGLING: dict[str, re.Pattern[str]] = {
    "en": re.compile(
        r"(?:[\s,;:]*\b(?:because|the reason is|that's because|for example)\b[\s.…,:;!]*)+$",
        re.I,
    ),
    "ja": re.compile(
        r"(?:(?:[\s、]*(?:その)?(?:理由は|なぜなら|というのも|そこで|例えば)[\s、。…．.:：]*)+"
        r"|(?<=[。！？!?])\s*(?:だから|それで|なので)[\s、。…．.]*)$"  # "。だから" left hanging, not "好きだから"
    ),
    "zh": re.compile(r"(?:[\s，]*(?:理由是|因为|比如|所以|例如)[\s，。…:：]*)+$"),
}


# "理由は、…" / "理由: …" / "理由是，…" / "我的生活例子是，…" / "The reason is that …" opening a sentence: the
# note's own words for what it asks, which the model then writes before every reason (the real people
# almost never do).
_REASON_LEAD: dict[str, re.Pattern[str]] = {
    "en": re.compile(
        r"(?:^|(?<=[.!?]\s))(?:(?:the|my) reason is(?: that)?,?|reason:|an example from my life(?: is)?[:,]?)\s+",
        re.I,
    ),
    "ja": re.compile(r"(?:^|(?<=[。！？!?\n]))\s*(?:その|私の|僕の|俺の|自分の)?理由(?:は[、,：:]|[：:])\s*"),
    "zh": re.compile(
        r"(?:^|(?<=[。！？!?\n]))\s*(?:(?:理由是|原因是)[，,：:]?|(?:理由|原因)[：:]|我?的?生活[中里]?的?例子是[，,：:]?)\s*"
    ),
}


def drop_reason_lead(text: str, lang: str) -> str:
    """``text`` without a formulaic "the reason is" opening any of its sentences."""
    pattern = _REASON_LEAD.get(lang)
    if pattern is None:
        return text
    rest = pattern.sub("", text)
    if lang == "en":
        rest = (
            re.sub(r"(^|[.!?]\s)([a-z])", lambda m: m.group(1) + m.group(2).upper(), rest)
            if rest != text
            else rest
        )
    return rest if is_substantive(rest) else text


def drop_dangling(text: str, lang: str) -> str:
    """``text`` without a connective hanging at its end (with its comma); ``text`` itself when
    nothing substantive would be left."""
    pattern = _DANGLING.get(lang)
    if pattern is None:
        return text
    rest = pattern.sub("", text).rstrip(",，、;； ")
    return rest if is_substantive(rest) else text


def is_substantive(text: str) -> bool:
    """At least two characters that are letters or digits (any script)."""
    n = sum(1 for ch in text if ch.isalnum())
    return n >= 2


def _strip_quotes(text: str) -> str:
    for _ in range(2):
        t = text.strip()
        for a, b in _QUOTE_PAIRS:
            balanced = t.count(a) == 2 if a == b else (t.count(a) == 1 and t.count(b) == 1)
            if len(t) >= 2 and t.startswith(a) and t.endswith(b) and balanced:
                t = t[len(a) : -len(b)].strip()
        text = t
    return text


def clean_generated(
    text: str,
    *,
    names: Iterable[str] = (),
    stop_names: Iterable[str] = (),
    max_chars: int = 800,
) -> str:
    """Reduce model output to one spoken line.

    ``names``: labels the speaker may have prefixed (its own name). ``stop_names``: other speakers;
    output is cut where the model starts writing their lines.
    """
    # Model output is as untrusted as typed input: no terminal escapes or control characters.
    text = _CONTROL.sub("", _ANSI.sub("", text.replace("\r\n", "\n").replace("\r", "\n")))
    text = _THINK.sub("", text)
    text = _FENCE.sub("", text)
    text = text.replace("<|im_end|>", "").replace("<|endoftext|>", "")
    stops = [n for n in stop_names if n]
    lines = text.strip().split("\n")
    kept: list[str] = []
    for i, line in enumerate(lines):
        stripped = line.strip().lstrip("*").strip()
        if i > 0 and any(re.match(rf"^{re.escape(n)}\s*[:：]", stripped) for n in stops):
            break
        if i > 0 and re.match(r"^(Player|User|Me|You|プレイヤー|玩家|用户)\s*[:：]", stripped):
            break
        kept.append(line)
    text = "\n".join(kept).strip()
    for _ in range(20):  # until nothing changes, so that cleaning twice changes nothing
        before = text
        text = _strip_quotes(text)
        for name in list(names) + ["Player", "User", "Assistant"]:
            if name:
                text = re.sub(rf"^\s*(\*\*)?{re.escape(name)}(\*\*)?\s*[:：]\s*", "", text)
                text = re.sub(
                    rf"^\s*{re.escape(name)}\s+(could|might|would|will)?\s*(say|says|said)\s*[:：,]\s*",
                    "",
                    text,
                )
        text = _SAYS.sub("", text)
        text = re.sub(r"^\s*(\(|（)[^)）]{0,40}(\)|）)\s*", "", text)  # stage directions like "(smiles)"
        if text == before:
            break
    text = re.sub(r"[ \t]+", " ", text)
    text = re.sub(r"\n{3,}", "\n\n", text).strip()
    if len(text) > max_chars:
        cut = text[:max_chars]
        m = max(cut.rfind(p) for p in (". ", "! ", "? ", "。", "！", "？", "\n"))
        text = cut[: m + 1].strip() if m > max_chars // 3 else cut.strip()
    return text


def strip_label(text: str) -> str:
    """Drop one generic leading role label ("A:", "Reply:", "回答：", ...)."""
    return _LABEL.sub("", text, count=1) if re.match(r"^\s*\S{1,14}\s*[:：]", text) else text


def _counts(text: str) -> tuple[int, int, int, int]:
    kana = han = latin = hangul = 0
    for ch in text:
        o = ord(ch)
        if 0x3040 <= o <= 0x30FF or 0x31F0 <= o <= 0x31FF:
            kana += 1
        elif 0x4E00 <= o <= 0x9FFF or 0x3400 <= o <= 0x4DBF:
            han += 1
        elif ch.isascii() and ch.isalpha():
            latin += 1
        elif 0xAC00 <= o <= 0xD7AF:
            hangul += 1
    return kana, han, latin, hangul


def script_matches(text: str, lang: str) -> bool:
    """True when the text is mostly in the script of ``lang`` (en: Latin; ja: kana present; zh: Han, no kana)."""
    kana, han, latin, hangul = _counts(text)
    letters = kana + han + latin + hangul
    if letters == 0:
        return True  # emoji or punctuation only: nothing to judge
    if lang == "en":
        return latin / letters >= 0.8
    if lang == "ja":
        return (kana + han) / letters >= 0.6 and (kana > 0 or han <= 2)
    if lang == "zh":
        return han / letters >= 0.6 and kana <= max(1, han // 20)
    return True


# -- copied text ---------------------------------------------------------------------------------
_CJK_CHARS = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
_UNIT = re.compile(rf"[{_CJK_CHARS}]|[^\W_{_CJK_CHARS}]+")
_CJK_UNIT = re.compile(rf"[{_CJK_CHARS}]")
#: how much a CJK character counts towards a run, against 1 for a word: 12 characters weigh as 8 words
CJK_WEIGHT = 2 / 3


def text_units(text: str) -> list[str]:
    """Words (letters and digits, case-folded) and single CJK characters; punctuation and spacing dropped."""
    return _UNIT.findall(unicodedata.normalize("NFKC", text).casefold())


def cjk_char(char: str) -> bool:
    """A Han, kana or other CJK character (a unit of its own in :func:`grams`)."""
    return bool(_CJK_UNIT.fullmatch(char))


def grams(text: str) -> list[str]:
    """The text's words, and for CJK its pairs of neighbouring characters (one character says
    little: a kana is in every Japanese sentence)."""
    units = text_units(text)
    out: list[str] = []
    for i, unit in enumerate(units):
        if not _CJK_UNIT.fullmatch(unit):
            out.append(unit)
        elif i + 1 < len(units) and _CJK_UNIT.fullmatch(units[i + 1]):
            out.append(unit + units[i + 1])
    return out


def share_in(text: str, source: str) -> float:
    """How much of ``text`` (its :func:`grams`) is in ``source``: 0 to 1, 0 for an empty text."""
    mine, theirs = grams(text), set(grams(source))
    return sum(g in theirs for g in mine) / len(mine) if mine else 0.0


def _weight(unit: str) -> float:
    return CJK_WEIGHT if _CJK_UNIT.fullmatch(unit) else 1.0


def _windows(units: list[str], min_weight: float) -> Iterable[tuple[int, tuple[str, ...]]]:
    """From each position, the shortest run of units that weighs at least ``min_weight``.

    Weights are summed in thirds, as integers: with floats, a run holding CJK characters drifts
    (2/3 + 2/3 + 2/3 is not 2.0), and every later window of the text came out one unit longer than
    the same run of a source, so no copy after a CJK name was ever found."""
    weights = [round(_weight(u) * 3) for u in units]
    min_weight = math.ceil(min_weight * 3 - 1e-9)
    end, total = 0, 0
    for start in range(len(units)):
        while end < len(units) and total < min_weight:
            total += weights[end]
            end += 1
        if total < min_weight:
            return
        yield start, tuple(units[start:end])
        total -= weights[start]


def copied_run(text: str, sources: Iterable[str], *, min_words: float = 8.0) -> str | None:
    """A run of ``text`` that also appears, unit for unit, in one of ``sources``, or None.

    A run counts when it weighs at least ``min_words`` (a word weighs 1, a CJK character
    :data:`CJK_WEIGHT`). Case, punctuation and spacing are ignored, so a copy with other quotes
    or line breaks is still found; a run never spans two sources.
    """
    seen: set[tuple[str, ...]] = set()
    for source in sources:
        seen.update(w for _, w in _windows(text_units(source), min_words))
    if not seen:
        return None
    for _, window in _windows(text_units(text), min_words):
        if window in seen:
            return re.sub(
                r"\s+", " ", "".join(u if _CJK_UNIT.fullmatch(u) else f" {u} " for u in window)
            ).strip()
    return None
