"""A simulated user keeps its persona's writing style late in the game, on the real local model.

Day 5 comes after twelve turns of days 1-4 in which the housemates write long, excited messages;
a terse lower-case English texter must stay terse and lower-case, and a polite Japanese speaker
must keep the polite (です/ます) register, on every day-5 reply.
"""

from __future__ import annotations

import re

import pytest

from sharehouse.engine.users import PastTurn, TurnContext
from sharehouse.personas.io import default_personas_path, load_personas
from sharehouse.personas.simulated import SimulatedUser

pytestmark = pytest.mark.model

LONG = {
    "en": "Honestly I have been thinking about this all week and I would love every detail: what would you "
    "do, why, and how would it make you feel? Take your time, tell me everything!",
    "ja": "ねえねえ、この一週間ずっと考えてたんだけどさ、君の考えを詳しく聞かせてほしいな。どうする？なんで？どんな気持ち？",
}
EARLIER = {
    "en": ["ok sure.", "nah, pizza.", "dunno, maybe later.", "sounds good.", "i'd split it.", "not my thing.",
           "yeah fine.", "lol no.", "maybe tuesday?", "i'm in.", "meh, ok.", "quiet is better."],
    "ja": ["はい、いいと思います。", "冷蔵庫の棚を分けるのはどうでしょうか。", "私は静かな方が好きです。",
           "週末なら参加できます。", "掃除当番を決めませんか。", "それは少し困りますね。", "ありがとうございます。",
           "夜は早めに寝ています。", "名前を書いておくといいと思います。", "デザインはシンプルがいいです。",
           "皆さんに合わせます。", "楽しみにしています。"],
}  # fmt: skip
DAY5 = {
    "en": ["Day five! What was the best moment of the week for you?",
           "If you could change one house rule, which one would it be?"],
    "ja": ["いよいよ最終日だね！今週いちばん楽しかった瞬間は？", "ハウスのルールを一つ変えられるなら、どれにする？"],
}  # fmt: skip
NPCS = {"en": ["Leo", "Mina", "Noel", "Kenji"], "ja": ["レオ", "ミナ", "ノエル", "ケンジ"]}
POLITE = re.compile(r"です|ます|ません|でしょう|ください|ございます")


async def _day5_replies(persona_id: str, model) -> tuple[object, list[str]]:
    persona = next(p for p in load_personas(default_personas_path()) if p.id == persona_id)
    lang = persona.language
    user = SimulatedUser(persona, model, seed=1)
    history = [
        PastTurn(day=1 + i // 3, npc_name=NPCS[lang][i % 4], message=LONG[lang], response=EARLIER[lang][i])
        for i in range(12)
    ]
    replies = []
    for message in DAY5[lang]:
        reply = await user.reply(
            TurnContext(language=lang, day=5, npc_name=NPCS[lang][0], message=message, history=history)
        )
        assert not reply.fallback, f"{persona_id}: no usable reply came back for {message!r}"
        replies.append(reply.text)
        history.append(PastTurn(day=5, npc_name=NPCS[lang][0], message=message, response=reply.text))
    return persona, replies


async def test_terse_lowercase_texter_stays_terse_on_day5(small_model) -> None:
    persona, replies = await _day5_replies("p-en-022", small_model)
    assert persona.style.casing == "lower" and persona.style.reply_length.max <= 8  # type: ignore[attr-defined]
    for text in replies:
        assert len(text.split()) <= 15, f"a terse texter wrote {text!r}"
        assert text == text.lower(), f"a lower-case texter wrote {text!r}"


async def test_polite_japanese_speaker_keeps_desu_masu_on_day5(small_model) -> None:
    persona, replies = await _day5_replies("p-ja-006", small_model)
    assert persona.style.formality == "polite"  # type: ignore[attr-defined]
    for text in replies:
        assert POLITE.search(text), f"a polite speaker dropped です/ます: {text!r}"
        assert not re.search(r"[A-Za-z]{4,}", text), f"a Japanese speaker switched language: {text!r}"
