"""Replies that commit to nothing: "sure", "maybe", "I'll think about it", "どっちでもいい", "随便".

:func:`is_noncommittal` says whether a reply is *nothing but* non-commitment once emoji, punctuation
and filler words are set aside. A reply that holds such a phrase and something else ("maybe the party,
honestly — I love a crowd") is not flagged: what else it says is for the judge to weigh.

Two kinds of phrase:

- **evasive** ones ("maybe", "idk", "up to you", "it depends", "haha", "考えておきます", "再说吧")
  never answer a question;
- **bare assent** ("sure", "why not", "sounds good", "yes", "いいね", "好啊") answers a yes/no
  question but not one that asks for a choice, an opinion or a plan (:func:`asks_for_content`);
- **waiting to see** ("we'll see", "到时候再说", "看情况") evades any question but one that asks
  whether the player plans ahead or keeps their options open (:data:`WAIT_DIMENSION`): there it
  takes the open side.

The lists cover English, Japanese and Chinese together: players mix languages, and the verdict must
not depend on the session's language.
"""

from __future__ import annotations

import re
import unicodedata
from enum import StrEnum

#: The reason given when the rule rejects a reply.
NONCOMMITTAL_REASON = "non-committal reply"


class Commitment(StrEnum):
    EVASIVE = "evasive"
    ASSENT = "assent"
    WAIT = "wait"


#: The MBTI dimension whose questions ask to plan ahead or keep options open: waiting to see how
#: things go answers them ("Do you have a plan for next year, or see what comes?" "We'll see").
WAIT_DIMENSION = "J/P"


# --- English: phrases as word sequences, after lower-casing and removing punctuation ---------------

_EN_EVASIVE = """
maybe | maybe later | maybe not | maybe maybe not | perhaps | possibly | probably | could be | might be
| guess | i guess | i suppose | suppose so | hard to say | tough question | tough one | good question
| great question | interesting question | good one | interesting | not sure | i'm not sure | im not sure
| not really sure | unsure | idk | dunno | i dunno | i don't know | i dont know | don't know | dont know
| i do not know | no idea | no clue | who knows | i'll think about it | ill think about it
| i will think about it | i'll think about that | let me think | let me think about it | let me see
| i need to think | i need to think about it | let's see | lets see
| i'll get back to you | ill get back to you | not yet | haven't decided | havent decided
| i haven't decided | haven't thought about it | never thought about it | whatever | whatever you like
| whatever you want | whatever you prefer | whatever you think | whatever works | whatever is fine
| whatever you guys want | whatever you guys like | up to you | it's up to you | its up to you
| up to you guys | your call | you decide | you choose | you pick | you tell me | either | either one
| either way | either is fine | either works | either one is fine | both | both are fine | both are good
| both sound good | both work | both options | anything | anything is fine | anything works
| anything's fine | any is fine | all fine | all good | doesn't matter | doesnt matter | does not matter
| it doesn't matter | it doesnt matter | don't mind | dont mind | i don't mind | i dont mind
| don't care | dont care | i don't care | i dont care | no preference | i have no preference
| no strong opinion | no opinion | i'm easy | im easy | easy | i'm fine with anything
| im fine with anything | fine with anything | fine with either | it depends | depends | that depends
| depending | it all depends | depends on you | depends on the day | depends on the mood | depends on my mood
| it varies | kind of | sort of | kinda | sorta | meh | eh | hmm | hm | hmmm | um | uh | umm | uhh
| same | same here | who cares
"""

_EN_WAIT = """
i'll see | we'll see | well see | we will see | we shall see | i'll see how it goes | we'll see how it goes
| see how it goes | see what happens | we'll see what happens | see what comes | take it as it comes
| go with the flow | play it by ear
"""

_EN_ASSENT = """
sure | sure thing | why not | sounds good | sounds great | sounds fun | sounds nice | sounds cool
| sounds awesome | sounds like fun | sounds like a plan | sounds like a good idea | good idea | great idea
| nice idea | nice | cool | great | awesome | good | fine | fine by me | ok | okay | k | kk | alright
| all right | yes | yeah | yep | yup | yea | ya | no | nope | nah | of course | definitely | absolutely
| totally | for sure | i think so | think so | i guess so | guess so | count me in | i'm in | im in
| let's do it | lets do it | let's go | lets go | that's fine | thats fine | that's great | thats great
| that sounds good | that sounds fun | that sounds great | that'd be fun | that would be fun
| that would be nice | that'd be nice | totally agree | fair enough | true | right | exactly | indeed
"""

#: Words that carry nothing on their own: they neither answer nor evade.
_EN_FILLER = frozenset(
    """
    oh ooh ohh ah ahh aw aww well so um uh er erm like just really honestly tbh ngl lol lmao rofl omg
    wow hey hi yo man dude bro mate friend guys you i me it that this is all too then also and but hehe
    very pretty quite super hmm oof welp yay yeah haha hahaha xd
    """.split()
)

_LAUGH = re.compile(r"^(?:a?(?:ha)+h?|(?:he)+h?|(?:hi)+|l+o+l+|lmf?ao+|x+d+|w+)$")


def _phrases(block: str) -> dict[tuple[str, ...], int]:
    out: dict[tuple[str, ...], int] = {}
    for raw in block.split("|"):
        words = tuple(_words(raw))
        if words:
            out[words] = len(words)
    return out


def _words(text: str) -> list[str]:
    return _normalise(text).split()


# --- Japanese and Chinese: substrings, removed longest first ----------------------------------------

_CJK_EVASIVE = """
どっちでもいい どちらでもいい どっちでも どちらでも どっちもいい どっちも どちらも 両方いい 両方
なんでもいい 何でもいい なんでも 何でも 考えておきます 考えておく 考えとく 考えてみます 考えてみる
考えます 検討します まあね まぁね たぶん 多分 わからない 分からない わかんない 分かんない わかりません
分かりません 知らない 知らん さあ さぁ 微妙 場合による 時と場合による 状況による 次第 気分次第 人それぞれ
お任せ おまかせ 任せる 任せます 好きにして お好きに かもしれない かもしれません かもね かも 迷う 迷います
迷っています 悩む 悩みます 悩ましい 難しい質問 いい質問 どうだろう どうでしょう どうかな
なんとも言えない 何とも言えない 特にない 特にありません 別に べつに そのうち また今度 後で考える あとで考える
まだ決めてない まだ決めていない 決められない うーん うーむ んー 笑 ははは はは あはは ふふ えへへ へへ
都行 都可以 都好 都不错 都挺好 都无所谓 无所谓 没所谓 随便 随意 随你便 随你 看心情 看你们 看你
看大家 以后再说 再说吧 再说 再看吧 再看看 再想想 让我想想 我想想 考虑考虑 考虑一下 可能吧
可能 也许吧 也许 大概吧 大概 或许 说不定 不好说 很难说 难说 哈哈 嘿嘿 呵呵 嘻嘻 不知道 不晓得
不清楚 不确定 没想好 还没想好 没想过 你决定 你定 你们定 听你的 听你们的 你说呢 没意见 没有意见 没什么意见
因人而异 两个都行 两个都好 都一样 好问题 好难 一般般 还行吧 haha lol www
"""

_CJK_WAIT = """
様子を見 様子見 成り行き 流れに任せる その時考える そのとき考える その時次第 そのとき次第
看情况 看情况再说 到时候再说 到时候看 走一步看一步 顺其自然 见机行事
"""

_CJK_ASSENT = """
いいね いいよ いいですね いいと思う いいと思います いいんじゃない いいじゃん いいかも いい 賛成 はい
うん ええ そうだね そうですね そうね もちろん 了解 りょうかい オッケー おっけー 大丈夫 楽しそう
面白そう おもしろそう すごいね すごい なるほど 確かに たしかに 素敵 最高 ぜひ 是非 やろう
好啊 好呀 好的 好滴 好哒 行啊 行 可以啊 可以 没问题 当然了 当然 对啊 对 是的 是啊 嗯嗯 好主意 不错
挺好 很好 赞 有意思 有道理 为什么不 为啥不 好耶 太棒了 真棒 棒 好 ok okay sure
"""

#: Particles, pronouns and interjections that carry nothing on their own in ja/zh.
_CJK_FILLER = """
ですよね ですね でしょう ですか です ます だね だよ よね かなぁ かなあ かな なぁ なあ ねえ ねぇ えっと
えーと ええと あのー あの あー ええ えー まあ まぁ わたし 私は 私 僕は 僕 俺 は も の けど けれど だけど
ね よ な か だ ー 〜 ん あ え
我们 你们 我 你 吧 啊 呀 呢 嘛 哦 噢 喔 啦 了 的 哎 诶 唉 额 呃 嗯 都 也 吗 就 这个 那个 其实 感觉
"""

_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")

# --- the question: does it ask for a choice, an opinion or a plan? -----------------------------------

_OPEN_EN = re.compile(
    r"\b(?:or|what|what's|whats|which|how|why|where|when|who|whom|whose|rather|prefer|thoughts?|ideas?|"
    r"plans?|opinion|favou?rite)\b",
    re.I,
)
_OPEN_CJK = re.compile(
    r"それとも|どっち|どちら|何|なに|なん|どう|どんな|どこ|いつ|誰|だれ|なぜ|どれ|派|"
    r"还是|什么|怎么|怎样|哪|为什么|如何|多少|谁|啥|几|或者|意见|想法|打算|计划"
)


def _normalise(text: str) -> str:
    """Lower case, NFKC, every character that is not a letter, digit or apostrophe made a space."""
    text = unicodedata.normalize("NFKC", text).lower().replace("’", "'")
    kept = [ch if ch.isalnum() or ch == "'" or unicodedata.category(ch) == "Lm" else " " for ch in text]
    return " ".join("".join(kept).replace(" '", " ").replace("' ", " ").split())


_EN_TABLE: dict[tuple[str, ...], Commitment] = {
    **{p: Commitment.ASSENT for p in _phrases(_EN_ASSENT)},
    **{p: Commitment.EVASIVE for p in _phrases(_EN_EVASIVE)},
    **{p: Commitment.WAIT for p in _phrases(_EN_WAIT)},
}
_EN_LONGEST = max(len(p) for p in _EN_TABLE)
_CJK_TABLE: list[tuple[str, Commitment]] = sorted(
    [(w, Commitment.ASSENT) for w in _CJK_ASSENT.split()]
    + [(w, Commitment.EVASIVE) for w in _CJK_EVASIVE.split()]
    + [(w, Commitment.WAIT) for w in _CJK_WAIT.split()],
    key=lambda item: -len(item[0]),
)
_CJK_FILLERS: list[str] = sorted(set(_CJK_FILLER.split()), key=len, reverse=True)


def _latin_commitments(words: list[str]) -> set[Commitment] | None:
    """The kinds of phrase that make up a run of Latin words, or None when anything else is left."""
    found: set[Commitment] = set()
    i = 0
    while i < len(words):
        for n in range(min(_EN_LONGEST, len(words) - i), 0, -1):
            kind = _EN_TABLE.get(tuple(words[i : i + n]))
            if kind is not None:
                found.add(kind)
                i += n
                break
        else:
            word = words[i]
            if _LAUGH.match(word):
                found.add(Commitment.EVASIVE)
            elif word not in _EN_FILLER:
                return None
            i += 1
    return found


def _cjk_commitments(token: str) -> set[Commitment] | None:
    """The same for a token holding CJK text: phrases are cut out longest first, then fillers."""
    found: set[Commitment] = set()
    rest = token
    for phrase, kind in _CJK_TABLE:
        if phrase in rest:
            found.add(kind)
            rest = rest.replace(phrase, " ")
    for filler in _CJK_FILLERS:
        rest = rest.replace(filler, " ")
    leftover = rest.split()
    if not leftover:
        return found
    latin = _latin_commitments(leftover) if not any(_CJK.search(w) for w in leftover) else None
    return None if latin is None else found | latin


def commitments(reply: str) -> set[Commitment] | None:
    """The kinds of non-committal phrase a reply is made of, or None when it says anything else.

    An empty set means the reply holds only fillers (or nothing)."""
    words = _words(reply)
    found: set[Commitment] = set()
    latin: list[str] = []
    for word in [*words, ""]:
        if word and not _CJK.search(word):
            latin.append(word)
            continue
        if latin:
            kinds = _latin_commitments(latin)
            if kinds is None:
                return None
            found |= kinds
            latin = []
        if word:
            kinds = _cjk_commitments(word)
            if kinds is None:
                return None
            found |= kinds
    return found


def asks_for_content(question: str) -> bool:
    """Whether a question asks for a choice, an opinion or a plan, rather than only yes or no.

    An empty question counts as one: every judged scenario state asks something."""
    if not question.strip():
        return True
    return bool(_OPEN_EN.search(question) or _OPEN_CJK.search(question))


_WAIT_EN: frozenset[tuple[str, ...]] = frozenset(_phrases(_EN_WAIT))
_WAIT_CJK: tuple[str, ...] = tuple(_CJK_WAIT.split())


def waits_to_see(reply: str) -> bool:
    """Whether the reply says, anywhere in it, that the player will wait and see how things go
    ("I'll keep it open and see what happens", "我大概会不把路定死，走一步看一步")."""
    text = _normalise(reply)
    if any(phrase in text.replace(" ", "") for phrase in _WAIT_CJK):
        return True
    words = text.split()
    return any(tuple(words[i : i + len(p)]) == p for p in _WAIT_EN for i in range(len(words)))


def is_noncommittal(reply: str, question: str = "", dimension: str | None = None) -> bool:
    """True when the reply is nothing but non-commitment: an evasive phrase, or bare assent to a
    question that asks for a choice, an opinion or a plan. On a question of the
    :data:`WAIT_DIMENSION` (``dimension``, the state's), waiting to see is an answer."""
    kinds = commitments(reply)
    if not kinds:
        return False
    if Commitment.WAIT in kinds:
        return dimension != WAIT_DIMENSION
    return Commitment.EVASIVE in kinds or asks_for_content(question)
