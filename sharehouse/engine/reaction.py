"""A housemate's short reaction to the player's last answer.

In the ``react`` way of writing housemate lines (:data:`sharehouse.engine.npc.HOUSEMATE_MODES`) the
model writes only what a small model does well, one spoken sentence that reacts to what the player
just said, and the scenario's question follows it. The prompt is small on purpose: the speaker's
character, three worked exchanges in the session's language (question, answer, reaction), then the
question just asked and the player's answer. Demonstrations steer a 1.5B model where a list of
instructions does not: asked in words to "react", it answered with the words "agree" and "tease", or
commented on the answer from outside ("That answer is kind and thoughtful").

A reaction is cut before its first sentence that asks a question (the scenario's question comes
after it). It is checked by :func:`sharehouse.engine.npc_guard.rejection` like a whole line (no
markup, label, narration, wrong language, echo of the player, repeat of the session), and further:
it may ask nothing, may not mostly restate the player's answer (70 %
of its words, or half its CJK character pairs, taken from it: ``echo``), may not copy a worked
example, and may not be a sentence a housemate already said inside a longer line.
"""

from __future__ import annotations

import re

from sharehouse.engine.npc_guard import LineRules, Reason, asks_question, rejection
from sharehouse.llm.base import Message
from sharehouse.scenario import NPC
from sharehouse.textclean import cjk_char, grams, normalise, opens_like, share_in

#: the session language's name in the housemates' prompts (both ways, :mod:`sharehouse.engine.npc`)
LANGUAGE_NAMES = {"en": "English", "ja": "Japanese (日本語)", "zh": "Simplified Chinese (简体中文)"}

#: worked exchanges per language: (a housemate's question, the newcomer's answer, a reaction to it)
DEMOS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "en": (
        ("Cook at home tonight, or should we all go out?", "home for sure, I'm broke until friday lol",
         "Ha, same boat here, payday can't come soon enough."),
        ("Are you a morning person or a night owl?", "Night owl. I'm grumpy before ten.",
         "Ha, I'm the opposite, I'm up at six whether I like it or not."),
        ("What would you do with a free Saturday?", "Probably hike somewhere quiet and turn my phone off.",
         "Lucky you, I've been stuck staring at screens all week and I'm jealous already."),
    ),
    # Japanese: short, and none opens on 私は. The longer ones before ("私は逆で、六時には勝手に
    # 目が覚めちゃうんだよね。") drew reactions that said the answer back in the first person: on
    # run q-d5-r8's exchanges (bench_reactions --db) echo per attempt .286 -> .074, fallbacks
    # 3/39 -> 0/39.
    "ja": (
        ("今夜は家で作る？それともみんなで外に食べに行く？", "家かな、金曜まで金欠だし笑",
         "わかる〜、給料日前はきついよね。"),
        ("朝型？それとも夜型？", "完全に夜型です。10時前は機嫌悪いです",
         "こっちは六時に目が覚めちゃう派だなあ。"),
        ("休みの土曜日があったら何する？", "静かな山を歩いて、スマホの電源切るかな",
         "いいなあ、なんか行きたくなってきた。"),
    ),
    # Chinese: short, without "我也一样" or "我正好相反": those drew reactions that said the answer
    # back as the housemate's own view ("我完全同意，每个人都应该平等对待。"); on run q-d5-r9's
    # exchanges, attempts rejected 30 -> 13 and fallbacks 5/38 -> 1/38.
    "zh": (
        ("今晚在家做饭，还是大家一起出去吃？", "在家吧，周五前没钱了哈哈",
         "哈哈，发工资前真的难熬。"),
        ("你是早起型还是夜猫子？", "夜猫子，十点前脾气都很差",
         "佩服，六点那会儿我早就醒了。"),
        ("要是有个空闲的周六你会干嘛？", "可能去安静的地方爬山，把手机关掉",
         "真羡慕，听着就很放松。"),
    ),
}  # fmt: skip

_FRAME = {
    "en": '{asker} asked: "{question}"\nThe new housemate answered: "{answer}"\nYour short reaction (one sentence, no question):',
    "ja": "{asker}の質問：「{question}」\n新しいルームメイトの答え：「{answer}」\nあなたのひとことの反応（一文、質問なし）：",
    "zh": "{asker}问：“{question}”\n新室友回答：“{answer}”\n你的简短反应（一句话，不提问）：",
}
#: the last line of the frame for a follow-up, where the answer did not answer
_FRAME_FOLLOW_UP = {
    "en": "Your short reaction (one sentence, no question; they have not really answered yet):",
    "ja": "あなたのひとことの反応（一文、質問なし。まだちゃんと答えてもらっていない）：",
    "zh": "你的简短反应（一句话，不提问；对方还没有真正回答）：",
}
_YOU = {"en": "You", "ja": "あなた", "zh": "你"}
_SENTENCE = re.compile(r"(?<=[.!?。！？…])\s*")
#: sentence ends after which no space follows
_CJK_STOPS = frozenset("。！？")
#: how much of a reaction is kept: its first sentences up to this many characters (CJK count double)
MAX_REACTION_WIDTH = 160
#: a sentence at least this long (normalised characters) said earlier by a housemate is a repeat
REPEATED_SENTENCE_CHARS = 8
#: a reaction this much made of the player's last answer's words restates it ("Throw a big party
#: and tell everyone!"); "A party, nice!" (2 of 3 words) is a reaction
RESTATE_SHARE = 0.7
#: ... this much of its CJK character pairs. Lower than for words: the real people's housemates'
#: first sentences reach 0.5 in 0.5 % (zh) and 0.7 % (ja) of lines, the 1.5B model's Chinese
#: reactions in 54 % (run q-d5-r2: "尊重每个人空间需求，共用冰箱不搞规矩，我绝对会。")
RESTATE_SHARE_CJK = 0.5
#: ... when it has at least this many words (pairs)
RESTATE_MIN_GRAMS = 3


def system_prompt(npc: NPC, lang: str) -> str:
    name = npc.name.get(lang)
    lang_name = LANGUAGE_NAMES[lang]
    return "\n".join(
        [
            f"You are {name}, one of the housemates of a shared house, chatting with a new housemate "
            f"who has just moved in. Who you are: {npc.profile}",
            f"How you talk in {lang_name}: {npc.speaking_style.get(lang, '')}",  # type: ignore[call-overload]
            f"You react to what the new housemate just told you: one short spoken sentence in {lang_name}, "
            "about what they said, in your own words and from your own life. "
            "No question, no narration, no quotation marks.",
        ]
    )


def frame(lang: str, asker: str, question: str, answer: str) -> str:
    return _FRAME[lang].format(
        asker=asker, question=" ".join(question.split()), answer=" ".join(answer.split())
    )


def build_messages(
    npc: NPC, lang: str, *, asker: str, question: str, answer: str, follow_up: bool = False
) -> list[Message]:
    """System (the speaker), the worked exchanges, then the exchange to react to. ``asker`` is the
    name of whoever asked ``question`` (the speaker itself reads "You"); ``follow_up``: the answer
    did not answer, and the reaction says so."""
    you = _YOU[lang]
    messages: list[Message] = [{"role": "system", "content": system_prompt(npc, lang)}]
    for q, a, reaction in DEMOS[lang]:
        messages.append({"role": "user", "content": frame(lang, you, q, a)})
        messages.append({"role": "assistant", "content": reaction})
    shown = you if asker == npc.name.get(lang) else asker
    last = frame(lang, shown, question, answer)
    if follow_up:
        last = last.rpartition("\n")[0] + "\n" + _FRAME_FOLLOW_UP[lang]
    messages.append({"role": "user", "content": last})
    return messages


def _width(text: str) -> int:
    return sum(2 if ord(ch) > 0x2E7F else 1 for ch in text)


def _joined(sentences: list[str]) -> str:
    """Sentences as one line: a space after a sentence that ends in a Latin stop, none after a
    CJK one ("いいね。私も。", as people write; not "いいね。 私も。") or before a CJK sentence
    after "…"."""
    out = ""
    for s in sentences:
        tight = not out or out[-1] in _CJK_STOPS or (out[-1] == "…" and bool(cjk_char(s[0])))
        out += s if tight else " " + s
    return out.strip()


def trim(text: str, lang: str) -> str:
    """The reaction's first sentences, as many as fit :data:`MAX_REACTION_WIDTH` (at least one), and
    none from the first that asks a question on: the scenario's question follows, so "いいね！今度
    一緒に行かない？" keeps "いいね！". A first sentence that asks is kept, for the guard to reject."""
    sentences = [s.strip() for s in _SENTENCE.split(" ".join(text.split())) if s.strip()]
    kept: list[str] = []
    for s in sentences:
        if kept and (asks_question(s, lang) or _width(_joined([*kept, s])) > MAX_REACTION_WIDTH):
            break
        kept.append(s)
    return _joined(kept)


def first_sentence(line: str) -> str:
    """The first sentence of a housemate line (its reaction, in the ``react`` way)."""
    return next((s for s in _SENTENCE.split(" ".join(line.split())) if s.strip()), "")


def _said_before(text: str, npc_lines: list[str]) -> bool:
    """A sentence of ``text`` that a housemate already said (inside any earlier line)."""
    earlier = [normalise(line) for line in npc_lines]
    for sentence in _SENTENCE.split(text):
        s = normalise(sentence)
        if len(s.replace(" ", "")) >= REPEATED_SENTENCE_CHARS and any(s in line for line in earlier):
            return True
    return False


def restates(text: str, answer: str) -> bool:
    """The reaction mostly says the player's answer back ("Throw a big party and tell everyone!")."""
    units = grams(text)
    cjk = sum(len(g) == 2 and bool(cjk_char(g[0])) for g in units) * 2 > len(units)
    return len(units) >= RESTATE_MIN_GRAMS and share_in(text, answer) >= (
        RESTATE_SHARE_CJK if cjk else RESTATE_SHARE
    )


def reaction_rejection(text: str, rules: LineRules) -> Reason | None:
    """Why ``text`` cannot stand as a reaction before the scenario's question, or None."""
    reason = rejection(text, rules)
    if reason is not None:
        return reason
    if asks_question(text, rules.lang):
        return "question"
    if rules.replies and (
        restates(text, rules.replies[-1]) or opens_like(text, rules.replies[-1], rules.lang)
    ):
        return "echo"  # the answer said back, or spoken from the player's side ("我会尽量...")
    demos = [r for _q, _a, r in DEMOS[rules.lang]]
    if _said_before(text, [*rules.npc_lines, *demos]):
        return "repeat"
    return None
