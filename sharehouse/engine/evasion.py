"""Replies that evade in whole sentences: "I'm not sure yet, I'd have to sleep on it", "それは状況次第かな".

The phrase lists of :mod:`sharehouse.engine.noncommittal` catch a reply made of nothing but stock
words ("maybe", "随便"). People also evade in sentences of their own, which no list foresees. Such a
reply is close in meaning to one of a bank of written evasions (:data:`EVASIONS`), with the same
sentence encoder as the relevance gate. The bank was written for this module; it shares no sentence
with the labelled check set (``tests/data/check_set.jsonl``), so the check set measures it out of
sample (``python bench/bench_check.py --model none``).

The floors (:data:`EVASION_FLOOR`) were set on all the real YNTP-100 replies, which are answers with
few exceptions: each floor flags at most 2 % of them (``scripts/calibrate_evasion.py``).
"""

from __future__ import annotations

from sharehouse.engine.noncommittal import WAIT_DIMENSION

#: Written evasions per language: undecided, deferring, handing the choice back, "both/either",
#: "it depends" without saying on what, praise of the question, a reaction that picks nothing.
EVASIONS: dict[str, tuple[str, ...]] = {
    "en": (
        "I'm not sure, I'd need to think about that for a while.",
        "Hard to say right now, I haven't really made up my mind.",
        "I honestly haven't given it any thought yet.",
        "Let's talk about that another time.",
        "I'll let you know once I've figured it out.",
        "Can I answer that later? I need to sleep on it.",
        "Whatever the rest of you decide is fine by me.",
        "I'm happy to go along with whatever the group wants.",
        "I'll leave that decision to you.",
        "You choose, I'm okay with anything.",
        "Honestly, either option is fine for me.",
        "I like both equally, I can't pick one.",
        "Either of those works, I don't mind at all.",
        "I don't have a strong opinion on that.",
        "I don't really have a preference one way or the other.",
        "It depends on the situation, I guess.",
        "Depends on how I feel that day.",
        "Hmm, that's a tricky one, I really don't know.",
        "Wow, what a question! I'll have to get back to you.",
        "That's an interesting thing to ask, I've never thought about it.",
        "That sounds nice!",
        "Oh, that sounds like fun!",
        "Haha, that's cool.",
        "I guess we'll find out when the time comes.",
        "We'll see what happens.",
        "Ask me again some other day.",
        "I'd rather not say.",
        "No idea, to be honest.",
        "Sure, sounds good to me, whatever you think.",
        "Both sound good, I'm easy.",
    ),
    "ja": (
        "うーん、まだちょっと決められないです。",
        "今はなんとも言えないかな。",
        "あんまり考えたことなかったなあ。",
        "その話はまた今度にしよう。",
        "決まったら教えるね。",
        "ちょっと考えさせてください。",
        "みんなが決めたことに合わせるよ。",
        "みんなに任せます。",
        "どっちでも大丈夫だよ。",
        "どちらもいいので選べないです。",
        "特にこだわりはないかな。",
        "別にどっちでも構いません。",
        "そのときの状況によるかなあ。",
        "気分によって変わるかも。",
        "難しいね、よくわからないや。",
        "すごい質問だね、あとで答えるね。",
        "面白いことを聞くね、考えたことなかった。",
        "いいですね、楽しそう！",
        "へえ、それは素敵ですね。",
        "そうなんだ、すごいね。",
        "なるほどね〜",
        "そのときになったら考えるよ。",
        "どうなるか様子を見てみます。",
        "また別の日に聞いてください。",
        "それはちょっと言いたくないかな。",
        "全然わからないです、正直。",
        "うん、いいと思うよ、みんなに合わせる。",
        "どっちも好きだから迷っちゃう。",
        "うーん、どうしようかな〜",
        "あはは、どうだろうね。",
    ),
    "zh": (
        "嗯，我还没想好，得再琢磨琢磨。",
        "现在还真说不准。",
        "这个我从来没考虑过。",
        "这个话题以后再聊吧。",
        "等我想清楚了再告诉你。",
        "让我考虑几天再回答你。",
        "大家决定就好，我都跟着。",
        "交给你们安排吧。",
        "两个都可以，我无所谓。",
        "两个我都喜欢，选不出来。",
        "我没有什么特别的偏好。",
        "怎么样都行，我不挑。",
        "看具体情况吧。",
        "看当天的心情吧。",
        "好难啊，我也不知道。",
        "这个问题问得好，我回头再答你。",
        "好有意思的问题，我没想过。",
        "听起来好好玩啊！",
        "哇，真不错呢。",
        "是吗，好厉害。",
        "原来如此。",
        "到时候再说吧。",
        "走一步看一步吧。",
        "改天再问我吧。",
        "这个我不太想说。",
        "说实话，完全不知道。",
        "好呀好呀，都听你们的。",
        "都挺好的，选哪个都行。",
        "嗯……怎么说呢。",
        "哈哈，谁知道呢。",
    ),
}

#: The written evasions that wait to see how things turn out. On a question of the
#: :data:`~sharehouse.engine.noncommittal.WAIT_DIMENSION` (plan ahead, or keep options open) they
#: take the open side: "走一步看一步" is the very words of that side of ``d5_future``.
WAIT_AND_SEE: dict[str, frozenset[str]] = {
    "en": frozenset({"I guess we'll find out when the time comes.", "We'll see what happens."}),
    "ja": frozenset({"そのときになったら考えるよ。", "どうなるか様子を見てみます。"}),
    "zh": frozenset({"到时候再说吧。", "走一步看一步吧。", "看具体情况吧。"}),
}


def evasion_bank(language: str, dimension: str | None = None) -> tuple[str, ...]:
    """The written evasions of ``language`` that evade a question probing ``dimension``: all of
    them, but those that wait to see on the :data:`WAIT_DIMENSION`."""
    bank = EVASIONS[language]
    if dimension != WAIT_DIMENSION:
        return bank
    return tuple(text for text in bank if text not in WAIT_AND_SEE.get(language, frozenset()))


#: At or above this cosine to the nearest written evasion a reply evades. Share of all real
#: YNTP-100 replies at or above it (scripts/calibrate_evasion.py): en 1.2 % (567 replies),
#: ja 2.0 % (658), zh 1.4 % (579); most of those are bare assent ("Yeah, sounds good to me", "是的").
EVASION_FLOOR: dict[str, float] = {"en": 0.50, "ja": 0.50, "zh": 0.60}

#: The reason the check gives when a reply evades.
EVASION_REASON = "non-committal reply (close to {example!r}, cosine {cos:.2f})"
