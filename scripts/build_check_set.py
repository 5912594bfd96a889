"""Build the labelled check set of the reply check from the real YNTP-100 turns (seeded, deterministic).

    python scripts/build_check_set.py [--yntp ../shared/yntp100] [--out tests/data/check_set.jsonl]

Per language (en, ja, zh), each item pairs a real housemate message with a reply and a label:

- ``answer``: the person's own response to that message (of a reasonable length; the turns listed in
  :data:`LEFT_OUT` were read and left out);
- ``non-answer``: a non-committal reply from the lists below, some that the rules catch and some
  that only the judge can;
- ``off-topic``: a reply about something else, from the lists below;
- ``other-question``: a real response of another person to a message of another day (another topic).

``source`` names the message's file, day and index; an ``other-question`` item also names the reply's
(``reply_source``). Beside it, ``check_set_lines.json`` holds every message of each source file by day:
the lines of the other days, which the check's relevance gate compares a reply with (a reply to
another question is closer to one of them). The generated files are committed, so the tests do not
need the dataset.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script from a checkout
    sys.path.insert(0, str(REPO))

from sharehouse.io.yntp import parse_yntp_bytes  # noqa: E402
from sharehouse.lang import DIR_LANGUAGES, LANGS, LANGUAGE_DIRS  # noqa: E402

DEFAULT_YNTP = REPO.parent / "shared" / "yntp100"
DEFAULT_OUT = REPO / "tests" / "data" / "check_set.jsonl"
#: beside ``--out``: the source files' messages by day
LINES_NAME = "check_set_lines.json"
SEED = 13
LANGUAGES: tuple[str, ...] = LANGS

#: Items per label and language.
COUNTS = {"answer": 25, "non-answer": 16, "off-topic": 8, "other-question": 10}
#: Response lengths (characters) taken as real answers and as replies to other questions.
LENGTHS = {"en": (40, 320), "ja": (15, 150), "zh": (8, 100)}
#: The days' topics (1 a windfall, 2 the fridge, 3 a house project, 4 noise and respect) are shared by
#: every person; day 5 mixes them. A reply to another question comes from a day with another topic.
OTHER_DAYS = {1: (2, 4), 2: (1, 3), 3: (1, 4), 4: (1, 3)}

#: Turns whose response was read and left out, as (file, day, idx). As an answer to its own message:
#: it answers nothing (an apology for an earlier figure, "I can't say without looking it up", a joke,
#: a question back) or is itself non-committal ("whatever the others agree"). As a reply to another
#: question: it could pass for an answer to it (tidying habits for a fridge question, "let's vote",
#: "function first" for a question on sharing a space).
LEFT_OUT: frozenset[tuple[str, int, int]] = frozenset(
    {
        ("en/en_4.json", 1, 2),
        ("en/en_24.json", 1, 5),
        ("jp/jp_16.json", 1, 3),
        ("cn/cn_18.json", 3, 0),
        ("cn/cn_11.json", 4, 2),
        ("cn/cn_17.json", 1, 3),
        ("cn/cn_28.json", 2, 1),
        ("en/en_24.json", 3, 2),
        ("en/en_19.json", 4, 1),
        ("en/en_16.json", 3, 1),
        ("en/en_26.json", 3, 1),
        ("jp/jp_27.json", 3, 5),
        ("cn/cn_27.json", 4, 2),
        ("cn/cn_31.json", 3, 2),
        ("cn/cn_27.json", 3, 1),
    }
)


NON_ANSWERS = {
    "en": [
        "Sure, why not! 😆",
        "I'll think about it.",
        "Haha maybe!",
        "whatever you guys like 🙂",
        "idk tbh",
        "Both are fine with me!",
        "Up to you!",
        "It depends.",
        "Hmm, hard to say...",
        "Sounds good!",
        "lol",
        "Ooh, good question. Let me get back to you on that one 😄",
        "Honestly I could go either way on this one, haha.",
        "Oh, that's such a fun thing to think about!",
        "Yeah, I guess we'll see how it goes.",
        "Whatever works for everyone else works for me!",
        "No strong feelings either way 🤷",
        "Maybe, maybe not. Who knows! 😂",
        "I'm not sure yet, I'll have to think about it more.",
        "Hahaha you always ask the best questions",
    ],
    "ja": [
        "どっちでもいいよ〜",
        "考えておきます。",
        "まあね笑",
        "たぶん？",
        "いいね！",
        "わからないです…",
        "なんでもいいよ",
        "笑笑",
        "うーん、難しい質問ですね",
        "それはその時になってみないとわからないかな",
        "みんなに合わせます！",
        "いい質問だね〜、また今度話そう！",
        "そうですね…",
        "特にこだわりはないです",
        "えー、どうだろう？笑",
        "楽しそうですね！",
        "お任せします〜",
        "なるほど、考えたこともなかったです",
        "それ、めっちゃ気になる〜",
        "まだ決めてないけど、そのうち決めるね",
    ],
    "zh": [
        "都行",
        "随便吧😂",
        "看情况吧",
        "再说吧",
        "可能吧",
        "哈哈哈",
        "不知道诶",
        "好啊！",
        "都可以，你们定就好",
        "这个问题好有意思，我得好好想想",
        "嗯……还没想好",
        "大家开心就好～",
        "这个嘛，到时候再看吧",
        "没什么特别的想法",
        "听起来不错！",
        "随缘吧",
        "我都无所谓啦",
        "你猜😏",
        "说来话长，下次再聊",
        "这个真不好说，哈哈",
    ],
}

OFF_TOPIC = {
    "en": [
        "Has anyone seen my phone charger? I left it in the kitchen.",
        "The weather has been so weird this week, right?",
        "I just finished a really good book about space travel.",
        "Did you hear the new bakery downstairs opens tomorrow?",
        "My sister's coming to visit next month, she's super excited.",
        "I think the wifi is acting up again, my video keeps buffering.",
        "Oh no, I need to do my laundry before tonight.",
        "Anyway, what time is dinner tonight?",
        "I started learning to knit last week, it's harder than it looks.",
        "The bus was twenty minutes late this morning, so annoying.",
    ],
    "ja": [
        "そういえば、私の充電器見なかった？キッチンに置いたはずなんだけど。",
        "今日めっちゃ寒くない？",
        "昨日すごく面白い映画を見たんだ。",
        "駅前のパン屋さん、明日から新しいメニューが出るらしいよ。",
        "来週、妹が遊びに来るんだ。",
        "Wi-Fiまた遅くなってない？動画が全然進まない。",
        "あ、洗濯物取り込むの忘れてた！",
        "ところで今日の晩ご飯何時から？",
        "最近ジムに通い始めたんだけど、筋肉痛がすごい。",
        "今朝のバス、20分も遅れてきたよ。",
    ],
    "zh": [
        "对了，你们谁看到我的充电器了？我记得放在厨房了。",
        "今天怎么这么冷啊。",
        "我昨天看了一部特别好看的电影。",
        "楼下那家面包店明天开始打折。",
        "下周我妹妹要来玩。",
        "网又卡了吗？视频一直在转圈。",
        "哎呀，我衣服还没收！",
        "对了，今晚几点吃饭？",
        "我最近开始健身了，浑身酸痛。",
        "今天早上公交车晚了二十分钟。",
    ],
}


@dataclass(frozen=True)
class Turn:
    """One real turn."""

    file: str
    day: int
    idx: int
    message: str
    response: str

    @property
    def key(self) -> tuple[str, int, int]:
        return (self.file, self.day, self.idx)

    def source(self) -> dict[str, object]:
        return {"file": self.file, "day": self.day, "idx": self.idx}


def load_turns(yntp: Path, language: str) -> list[Turn]:
    folder = yntp / LANGUAGE_DIRS[language]
    if DIR_LANGUAGES[folder.name] != language:
        raise ValueError(f"{folder} is not the {language} folder")
    turns: list[Turn] = []
    for path in sorted(folder.glob("*.json"), key=lambda p: (len(p.stem), p.stem)):
        for t in parse_yntp_bytes(path.read_bytes()):
            turns.append(Turn(f"{folder.name}/{path.name}", t.day, t.idx, t.message, t.response))
    return turns


def _asks(message: str) -> bool:
    return "?" in message or "？" in message


def _usable_reply(turn: Turn, language: str) -> bool:
    low, high = LENGTHS[language]
    text = turn.response.strip()
    return low <= len(text) <= high and not text.endswith(("?", "？"))


def _rank(seed: int, *parts: object) -> str:
    """A seeded pseudo-random sort key. Each item's rank depends on itself only, so leaving one turn
    out (:data:`LEFT_OUT`) replaces that item and changes no other."""
    return hashlib.sha256(repr((seed, *parts)).encode("utf-8")).hexdigest()


def _spread(seed: int, label: str, turns: list[Turn], n: int, taken: set[tuple[str, int, int]]) -> list[Turn]:
    """``n`` turns not in ``taken`` (which they join), in seeded random order, at most one per file
    while files remain."""
    pool = sorted((t for t in turns if t.key not in taken), key=lambda t: _rank(seed, label, t.key))
    files: set[str] = set()
    out: list[Turn] = []
    for again in (False, True):
        for turn in pool:
            if len(out) < n and (turn.file in files) == again and turn.key not in taken:
                taken.add(turn.key)
                files.add(turn.file)
                out.append(turn)
    if len(out) < n:
        raise ValueError(f"only {len(out)} turns for {n} items")
    return out


def build_language(turns: list[Turn], language: str, seed: int) -> list[dict[str, object]]:
    items: list[dict[str, object]] = []

    def add(label: str, question_turn: Turn, reply: str, **extra: object) -> None:
        items.append(
            {
                "id": f"{language}-{label}-{sum(1 for i in items if i['label'] == label) + 1:02d}",
                "language": language, "question": question_turn.message, "reply": reply,
                "label": label, "source": question_turn.source(), **extra,
            }
        )  # fmt: skip

    taken: set[tuple[str, int, int]] = set()
    asking = [t for t in turns if _asks(t.message)]
    positives = [
        t for t in asking
        if _usable_reply(t, language) and t.key not in LEFT_OUT
    ]  # fmt: skip
    for turn in _spread(seed, "answer", positives, COUNTS["answer"], taken):
        add("answer", turn, turn.response)
    for reply_pool, label in ((NON_ANSWERS, "non-answer"), (OFF_TOPIC, "off-topic")):
        replies = sorted(reply_pool[language], key=lambda r: _rank(seed, label, r))[: COUNTS[label]]
        for turn, reply in zip(_spread(seed, label, asking, COUNTS[label], taken), replies, strict=True):
            add(label, turn, reply)
    questions = [t for t in asking if t.day in OTHER_DAYS]
    for turn in _spread(seed, "other-question", questions, COUNTS["other-question"], taken):
        others = [
            t for t in turns
            if t.file != turn.file and t.day in OTHER_DAYS[turn.day] and _usable_reply(t, language)
            and t.key not in LEFT_OUT
        ]  # fmt: skip
        other = min(others, key=lambda t: _rank(seed, "reply", turn.key, t.key))
        add("other-question", turn, other.response, reply_source=other.source())
    return items


def build(yntp: Path, seed: int = SEED) -> tuple[list[dict[str, object]], dict[str, dict[str, list[str]]]]:
    """The items, and every message of their source files by file and day (in turn order)."""
    items: list[dict[str, object]] = []
    lines: dict[str, dict[str, list[str]]] = {}
    for language in LANGUAGES:
        turns = load_turns(yntp, language)
        built = build_language(turns, language, seed)
        used = {item["source"]["file"] for item in built}  # type: ignore[index]
        for turn in sorted((t for t in turns if t.file in used), key=lambda t: t.key):
            lines.setdefault(turn.file, {}).setdefault(str(turn.day), []).append(turn.message)
        items += built
    return items, lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--yntp", type=Path, default=DEFAULT_YNTP, help="the YNTP-100 folder")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    items, lines = build(args.yntp, args.seed)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", encoding="utf-8") as fh:
        for item in items:
            fh.write(json.dumps(item, ensure_ascii=False) + "\n")
    lines_path = args.out.parent / LINES_NAME
    lines_path.write_text(json.dumps(lines, ensure_ascii=False, indent=0) + "\n", encoding="utf-8")
    print(f"wrote {len(items)} items to {args.out} and their files' lines to {lines_path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
