"""What a persona thinks about a question, fixed before the model words it.

A state of the scenario probes one MBTI dimension with an either/or question. The persona's stance
on it is one of the two letters, drawn with P(the persona's own letter) = its strength on that
dimension, seeded by persona and state: the same state (also a follow-up) always gives the same
stance, and a persona is consistent only as often as its strength says, so recovering its type from
the stances is a real measurement. The stance reaches the model as a short private note in the last
message; the wording is the model's.
"""

from __future__ import annotations

import random
import zlib
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict

from sharehouse.personas import pools
from sharehouse.personas.models import Persona
from sharehouse.textclean import grams, normalise, start

DIMENSIONS: dict[str, str] = {"E/I": "ei", "S/N": "sn", "T/F": "tf", "J/P": "jp"}

# What each side means when a state names no poles of its own.
_GENERIC_POLES: dict[str, dict[str, str]] = {
    "en": {
        "E": "do it together with others, out loud",
        "I": "keep it low-key and private",
        "S": "go for the concrete, practical option",
        "N": "go for the imaginative, big-picture option",
        "T": "decide by logic and fairness",
        "F": "decide by how people feel",
        "J": "plan it and fix it in advance",
        "P": "stay flexible and decide as you go",
    },
    "ja": {
        "E": "みんなと一緒に、オープンにやる",
        "I": "目立たず、自分だけで静かにやる",
        "S": "具体的で現実的な方を選ぶ",
        "N": "想像が広がる、大きな方を選ぶ",
        "T": "理屈と公平さで決める",
        "F": "みんなの気持ちで決める",
        "J": "前もって計画して決めておく",
        "P": "決めずに、その場で柔軟にやる",
    },
    "zh": {
        "E": "和大家一起，热热闹闹地来",
        "I": "低调一点，自己安静地来",
        "S": "选具体、实际的那个",
        "N": "选更有想象力、更大胆的那个",
        "T": "按道理和公平来决定",
        "F": "按大家的感受来决定",
        "J": "提前计划好、定下来",
        "P": "不定死，走一步看一步",
    },
}
_DEGREE: dict[str, dict[str, tuple[str, ...]]] = {
    # How the persona would open its position, by how firmly it holds it (first person). The model
    # copies the opening it is given, so one wording per degree made every reply of a firm persona
    # open alike ("I'd definitely ..." in 5 of p-en-001's first 10 replies); the wording is drawn
    # per question, among those that do not open like an earlier reply of the session
    # (:func:`_opening`). English wordings differ in their first two words for that reason: with
    # four, a firm persona's replies still opened alike (.34 of them in run q-d5-r3, the real
    # people .15). ("" lets the side stand alone.)
    "en": {
        "slightly": (
            "I guess I'd",
            "Maybe I'd",
            "I'd probably",
            "Hard to say, but I'd",
            "Probably I'd",
            "Not sure, but I'd",
            "If it were me, I'd",
        ),
        "clearly": (
            "I'd",
            "I would",
            "Honestly, I'd",
            "I think I'd",
            "Personally I'd",
            "For me, I'd",
            "Me? I'd",
        ),
        "strongly": (
            "I'd definitely",
            "For sure I'd",
            "No question, I'd",
            "I'd absolutely",
            "Easy one, I'd",
            "Without a doubt I'd",
            "Oh, I'd totally",
        ),
    },
    "ja": {
        "slightly": ("どちらかといえば、", "たぶん", "強いて言えば、", "迷うけど、"),
        "clearly": ("", "やっぱり", "普通に", ""),
        "strongly": ("絶対、", "迷わず", "もちろん", "間違いなく"),
    },
    "zh": {
        "slightly": ("可能还是", "大概会", "也许会", "说不好，可能"),
        "clearly": ("", "还是", "应该会", ""),
        "strongly": ("肯定是", "当然是", "绝对会", "毫无疑问会"),
    },
}
_REASON: dict[str, dict[str, str]] = {
    # A persona detail said as a plain statement, without "because": the Japanese and Chinese notes
    # once held "…から" and "因为…", and the model put a "because" in half its replies (zh .26-.50
    # of the replies of runs q-d5-r8 to r12 against .10 of the real people's; the English note had
    # none and its replies matched the real people, .11 against .09).
    "en": {
        "value": "I care about {x}",
        "preference": "I like {x}",
        "occupation": "that's how I see it as a {x}",
    },
    "ja": {
        "value": "{x}を大切にしている",
        "preference": "{x}が好き",
        "occupation": "{x}としての感覚かな",
    },
    "zh": {
        "value": "{I}看重{x}",
        "preference": "{I}喜欢{x}",
        "occupation": "作为{x}，{I}就是这么看的",
    },
}
_POSITION: dict[str, str] = {
    # First person, so that even a small model that copies it ends up with a plain answer.
    "en": "{degree} {pole}; {reason}.",
    "ja": "{lead}{degree}{pole}。{reason}。",
    "zh": "{lead}{degree}{pole}。{reason}。",
}
_POSITION_BARE: dict[str, str] = {
    # Every persona detail has come up in the session already: the position alone.
    "en": "{degree} {pole}.",
    "ja": "{lead}{degree}{pole}。",
    "zh": "{lead}{degree}{pole}。",
}
#: What may stand before the degree ({I}: the persona's first person), drawn with it. The model
#: opens as the position does: "私なら…" before every answer reads like a form, and with "我" before
#: every position .92 of the Chinese replies opened with it (run q-d5-r12; the real people .27;
#: .68 without it two times in three, q-d5-r14), so the side often stands without it, as Chinese
#: and Japanese speakers leave it unsaid.
_LEADS: dict[str, tuple[str, ...]] = {"en": ("",), "ja": ("{I}なら", ""), "zh": ("{I}", "", "")}
#: The length asked for in the note, as a share of the length aimed at. The 1.5B model writes
#: Chinese replies about 1.5 times as long as the characters asked (median written/asked 1.49 and
#: 1.63 for p-zh-001 and p-zh-002, run q-d2-goon-all); English and Japanese land near the aim.
_ASK_SCALE: dict[str, float] = {"en": 1.0, "ja": 1.0, "zh": 0.65}


def asked_length(lang: str, length: int) -> int:
    """The length the note asks for: ``length`` (aimed at) times the language's :data:`_ASK_SCALE`."""
    return max(1, round(length * _ASK_SCALE[lang]))


_NOTE: dict[str, str] = {
    "en": "(Private note, not part of the chat. What you think: {position} Say it your way, about {n} words.)",
    # Japanese: asking also for what the persona would actually do, concretely (against replies in
    # abstractions, "私たちは友達の心を理解する。") made the replies shorter (39 characters against 46,
    # the real people 60; length W/σ .43 -> .50, run q-d5-r5) and no less abstract to read: not kept.
    "ja": "（あなただけのメモ。あなたの考え: {position}自分の言葉で、{n}文字くらいで。）",
    "zh": "（只有你看得到的提示。你的想法：{position}用你自己的话说，大约{n}个字。）",
}
_NOTE_WHY: dict[str, str] = {
    # No persona detail is about this side: the model is asked to say more of its own (a bare
    # position is copied word for word, and a terse copy of the question's option is no reply):
    # what, drawn per question (:data:`MORE_KINDS`).
    "en": "(Private note, not part of the chat. What you think: {position} Say it your way and "
    "{more}, about {n} words.)",
    "ja": "（あなただけのメモ。あなたの考え: {position}答えを言うだけで終わらせず、{more}、全部で{n}文字くらいの二、三文で。）",
    "zh": "（只有你看得到的提示。你的想法：{position}用你自己的话说，再{more}，大约{n}个字。）",
}
#: What a reply with no persona detail to give adds to its answer, drawn per question; which asks a
#: language gets was measured on the local model against the real people (6 personas × 5 days):
#: - Chinese: asked for a reason every time, the model justified every answer ("因为…" in .26-.50 of
#:   the replies of runs q-d5-r8 to r12, the real people .10). A reason, what it would do or how it
#:   feels: .08 (run q-d5-r14). Each ask alone turns into a formula: without "how it feels", "我会先…"
#:   opened reply after reply (replies starting like an earlier one .35, the real people .09, run
#:   q-d5-r15; .24 with all three); asked for a moment of its life, it told one instead of answering
#:   ("我最近和几个朋友一起玩桌游…" to a lottery win; relevance .33, q-d5-r13).
#: - Japanese: a reason, as before. It gives one in .43 of its replies (the real people .23), but
#:   every other ask read worse: asked what it would do or how it feels, it restated the option (1.5
#:   resamples per reply as thin, 34 characters: length W/σ .57, q-d5-r13); asked for a moment of
#:   its life, it said the note's word back and little else ("自分の生活の中で、何かを学んだ場面があ
#:   ると話す", "自転車を乗りたい。その場面で…" to the living room; relevance .33, q-d5-r14).
#: - English: a reason or an example, as before: its replies gave a reason as often as the real
#:   people (.11 against .09, q-d5-r12), and the other asks lowered relevance (.43 against .48) and
#:   brought follow-ups (.10 against 0, q-d5-r14).
MORE_KINDS: dict[str, dict[str, str]] = {
    "en": {"reason": "give your own reason or an example from your life"},
    "ja": {"reason": "そう思う理由を自分の経験や具体的な例で続けて"},
    "zh": {
        "reason": "说说理由",
        "doing": "说说你实际会怎么做",
        "feeling": "说说这让你有什么感觉",
    },
}
_NOTE_PLAIN: dict[str, str] = {
    "en": "(Private note, not part of the chat. Answer in your own words, about {n} words.)",
    "ja": "（あなただけのメモ。自分の言葉で、{n}文字くらいで答えて。）",
    "zh": "（只有你看得到的提示。用你自己的话回答，大约{n}个字。）",
}
_NOTE_MORE: dict[str, str] = {
    # Every attempt only named the option: the reply so far goes back as said, and the model is
    # asked to go on with what lies behind it.
    "en": "(Private note, not part of the chat. Go on from what you just said: why, or what in your "
    "life makes you say so, in about {n} more words. Do not say the answer again.)",
    "ja": "（あなただけのメモ。今言ったことの続きを。なぜそう思うのか、そう思うようになった自分の"
    "出来事を、あと{n}文字くらいで。答えはもう繰り返さないで。）",
    "zh": "（只有你看得到的提示。接着你刚才的话说下去：为什么这么想，或者你生活里的什么事让你这么想，"
    "再说大约{n}个字。不要再重复答案。）",
}
_ASK_BACK: dict[str, str] = {
    # Told only "now and then you ask something back" in the persona prompt, the 1.5B model never
    # did (0 of 113 replies in q-d2-goon-all; the real people: 15 % en, 16 % ja, 6 % zh). Whether
    # this reply asks back is decided here, like its content, at the persona's own rate.
    "en": " Then ask them something back.",
    "ja": "最後に相手に何か一つ聞き返して。",
    "zh": "最后顺便反问对方一句。",
}
#: Phrases of the private note; a reply segment holding one echoes the note and is dropped.
NOTE_MARKERS: tuple[str, ...] = (
    "private note",
    "what you think",
    "say it your way",
    "あなただけのメモ",
    "あなたの考え",
    "只有你看得到",
    "你的想法：",
    "in your own words",
    "自分の言葉で",
    "用你自己的话",
    # what the note asks for, parroted ("これは自分の経験や具体的な例で説明します")
    "your own reason or an example",
    "an example from your life",
    "具体的な例",
    "答えを言うだけで",
    "私のメモ",
    "说说理由",
    "生活里的例子",  # "我会用生活里的例子来说明……"
    # ... and what else the note may ask for (MORE_KINDS)
    "你实际会怎么做",
    "这让你有什么感觉",
    "生活里有很多例子",
    # ... and the request to ask something back
    "ask them something back",
    "何か一つ聞き返",
    "反问对方",
    # ... and the note that asks to go on (``more_note``)
    "go on from what you just said",
    "what in your life makes you say so",
    "say the answer again",
    "今言ったことの続き",
    "なぜそう思うのか",
    "自分の出来事",
    "答えはもう繰り返さ",
    "接着你刚才的话",
    "为什么这么想",
    "不要再重复答案",
)


class Stance(BaseModel):
    """The persona's position on one question (stored with the turn as ground truth)."""

    model_config = ConfigDict(frozen=True)

    dimension: str  # "E/I", "S/N", "T/F" or "J/P"
    letter: str  # the side this persona takes on this question
    persona_letter: str  # the persona's own letter on the dimension
    strength: float  # the persona's strength on the dimension (P of taking its own letter)
    degree: str  # slightly | clearly | strongly
    pole: str  # what that side means for this question, in the session language
    reason: str  # a persona detail on the question's topic, in the session language ('' when none)
    position: str  # pole + degree + reason, as given to the model
    more: str = ""  # what the note asks the reply to add when ``reason`` is '' (a key of MORE_KINDS)

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


def _rng(*parts: object) -> random.Random:
    return random.Random(zlib.crc32("|".join(str(p) for p in parts).encode("utf-8")))


def _tag(text: str, lang: str, items: tuple[pools.Tagged, ...]) -> str:
    return next((item.tags for item in items if item.text.get(lang) == text), "")


# Words too common to tie a persona detail to a question.
_COMMON = frozenset(
    "with that this they them their have when what about your from into some more most just like "
    "people everyone things thing something other others time make keep each whoever".split()
)
_COMMON_CJK = frozenset({"大家", "一起", "自己", "什么", "时候", "一个", "我们", "みん", "自分", "一緒"})


def _keys(text: str) -> set[str]:
    """What two texts must share to be about the same thing: English content words of four letters
    or more (their first five, so "practical" meets "practicality"), pairs of kanji / hanzi."""
    out: set[str] = set()
    for gram in grams(text):
        if gram.isascii():
            if len(gram) >= 4 and gram not in _COMMON:
                out.add(gram[:5])
        elif all("\u4e00" <= ch <= "\u9fff" for ch in gram) and gram not in _COMMON_CJK:
            out.add(gram)
    return out


def _reason(
    persona: Persona,
    letter: str,
    other: str,
    rng: random.Random,
    topic: str,
    mentioned: Sequence[str] = (),
) -> str:
    """One persona detail that is about the side taken (``topic``, shares a word with it), supports
    ``letter`` or at least does not argue for ``other``, and that none of the ``mentioned`` texts
    (the session's earlier replies) brought up; ``""`` when there is none. A detail off the topic
    is not given: a small model pastes it as a non sequitur ("because I like board games" to a
    question about a lottery win), and people do not justify every answer from their profile."""
    lang = persona.language
    said = [normalise(text) for text in mentioned]
    about = _keys(topic)
    tagged = [("value", v, _tag(v, lang, pools.VALUES)) for v in persona.values]
    tagged += [("preference", p, _tag(p, lang, pools.PREFERENCES)) for p in persona.preferences]
    tagged += [("occupation", persona.occupation, "")]
    fresh = [
        (kind, text, tag)
        for kind, text, tag in tagged
        if _keys(text) & about and not any(normalise(text) in s for s in said)
    ]
    fitting = [(kind, text) for kind, text, tag in fresh if tag == letter]
    neutral = [(kind, text) for kind, text, tag in fresh if tag != other and tag != letter]
    options = fitting or neutral
    if not options:
        return ""
    kind, text = rng.choice(options)
    return _REASON[lang][kind].format(x=text, I=persona.style.first_person or "I")


def _opening(
    template: str,
    lang: str,
    degrees: Sequence[str],
    leads: Sequence[str],
    rng: random.Random,
    mentioned: Sequence[str],
    **fields: str,
) -> str:
    """``template`` filled with one of ``degrees`` (and, where it has one, of ``leads``), drawn with
    ``rng`` among the wordings whose start (:func:`~sharehouse.textclean.start`) is not that of one
    of the ``mentioned`` replies: the model opens as the position does, and a person does not open
    every answer with the same words. All wordings are drawn from when each opens like one."""
    used = {start(text, lang) for text in mentioned} - {None}
    filled = [
        template.format(degree=degree, lead=lead, **fields)
        for degree in degrees
        for lead in (leads if "{lead}" in template else leads[:1])
    ]
    fresh = [text for text in filled if start(text, lang) not in used]
    return rng.choice(fresh or filled)


def taken_and_other(poles: Mapping[str, str], letter: str) -> tuple[str, str] | None:
    """(what the side ``letter`` says, what the other side says) of a question's written
    ``poles``; None unless the question has both."""
    taken = poles.get(letter)
    other = [text for side, text in poles.items() if side != letter]
    return (taken, other[0]) if taken is not None and len(other) == 1 else None


def stance_for(
    persona: Persona,
    state_id: str,
    dimension: str | None,
    poles: Mapping[str, str] | None = None,
    *,
    mentioned: Sequence[str] = (),
) -> Stance | None:
    """The persona's stance on the state's question; None when the state probes no dimension.
    The side is drawn from the persona's letter and strength; a reason from the persona's values,
    preferences or occupation is added only where one is about that side and was not
    brought up by ``mentioned`` (the session's replies before this question); neither changes the
    side taken. Without one, what the reply adds (a reason, or in Chinese also what it would do or
    how it feels: :data:`MORE_KINDS`) is drawn per persona and question."""
    if dimension not in DIMENSIONS:
        return None
    lang = persona.language
    first, second = dimension.split("/")
    own = first if first in persona.mbti else second
    other = second if own == first else first
    strength = float(getattr(persona.mbti_strength, DIMENSIONS[dimension]))
    rng = _rng(persona.id, state_id, "stance")
    letter = own if rng.random() < strength else other
    if letter != own:
        degree = "slightly"
    else:
        degree = "strongly" if strength >= 0.8 else ("clearly" if strength >= 0.65 else "slightly")
    pole = (poles or {}).get(letter) or _GENERIC_POLES[lang][letter]
    reason = _reason(persona, letter, own if letter != own else other, rng, pole, mentioned)
    first_person = persona.style.first_person or "I"
    position = _opening(
        (_POSITION[lang] if reason else _POSITION_BARE[lang]),
        lang,
        _DEGREE[lang][degree],
        tuple(lead.format(I=first_person) for lead in _LEADS[lang]),
        _rng(persona.id, state_id, "degree"),
        mentioned,
        pole=pole,
        reason=reason,
        I=first_person,
    )
    return Stance(
        dimension=dimension,
        letter=letter,
        persona_letter=own,
        strength=strength,
        degree=degree,
        pole=pole,
        reason=reason,
        position=position,
        more="" if reason else _rng(persona.id, state_id, "more").choice(sorted(MORE_KINDS[lang])),
    )


def target_length(persona: Persona, state_id: str, turn: int) -> int:
    """How long this reply should be (words or characters): within the persona's range, mostly mid."""
    rl = persona.style.reply_length
    value = _rng(persona.id, state_id, turn, "length").triangular(rl.min, rl.max, (rl.min + rl.max) / 2)
    return max(1, round(value))


def asks_back(persona: Persona, state_id: str, turn: int) -> bool:
    """Whether this reply ends by asking the housemate something back: seeded per persona, question
    and turn, at the persona's ``question_rate`` (calibrated to the real people's per-person shares)."""
    return _rng(persona.id, state_id, turn, "ask").random() < persona.style.question_rate


def private_note(persona: Persona, stance: Stance | None, length: int, *, ask_back: bool = False) -> str:
    """The note added to the housemate's line: what to say (the stance), roughly how long, and
    (``ask_back``) to end by asking something back."""
    lang = persona.language
    if stance is None:
        note = _NOTE_PLAIN[lang].format(n=asked_length(lang, length))
    else:
        n = asked_length(lang, length)
        if stance.reason:
            note = _NOTE[lang].format(position=stance.position, n=n)
        else:
            more = MORE_KINDS[lang][stance.more or "reason"]
            note = _NOTE_WHY[lang].format(position=stance.position, more=more, n=n)
    if not ask_back:
        return note
    body, close = note[:-1], note[-1]  # every note ends with its closing bracket
    if lang == "en":
        return f"{body}{_ASK_BACK[lang]}{close}"
    return f"{body.rstrip('。')}。{_ASK_BACK[lang]}{close}"


def more_note(persona: Persona, length: int) -> str:
    """The note that asks a reply which only named the option to go on for about ``length`` more
    (the persona's unit): why, or what in the persona's life makes them say so."""
    return _NOTE_MORE[persona.language].format(n=asked_length(persona.language, max(1, length)))
