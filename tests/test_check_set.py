"""The reply check against non-answers: the non-committal rule per language, the judge's prompt and
output order, and the labelled check set (tests/data/check_set.jsonl) scored per class on real models."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.bench_check import (
    CHECK_SET,
    CHECK_SET_LINES,
    LANGUAGES,
    NEGATIVES,
    false_accepts,
    false_rejects,
    load_check_set,
    run_check_set,
    stratified,
)
from sharehouse.engine.checks import (
    CHECK_SCHEMA,
    JUDGE_EXAMPLES,
    answer_rule,
    check_reply,
    judge_messages,
)
from sharehouse.engine.noncommittal import NONCOMMITTAL_REASON, is_noncommittal

CHOICE = {
    "en": "Would you throw a massive party and tell everyone, or keep it totally secret?",
    "ja": "パーティーを開くなら大勢呼ぶ派？それとも少人数派？",
    "zh": "你更喜欢热闹的聚会，还是安静地待在家里？",
}
YES_NO = {"en": "Can you help me carry the sofa later?", "ja": "後でソファ運ぶの手伝ってくれる？",
          "zh": "等会儿能帮我搬一下沙发吗？"}  # fmt: skip

NON_COMMITTAL = {
    "en": ["Sure, why not! 😆", "I'll think about it.", "whatever you like", "haha", "idk", "both are fine",
           "Up to you!", "it depends", "why not", "Sounds good!!", "Maybe, maybe not… who knows 😂",
           "hmm hard to say tbh", "LOL", "I don't mind either way"],
    "ja": ["どっちでもいい", "考えておきます。", "まあね", "たぶん", "いいね！", "わからない", "なんでも",
           "笑", "うーん、どっちでもいいかな〜笑", "考えとくね", "いいと思います！"],
    "zh": ["都行", "随便", "看情况", "再说吧", "可能吧", "哈哈", "不知道", "好啊", "随便吧，我都行😂",
           "嗯……不好说", "都可以啦"],
}  # fmt: skip

ANSWERS = {
    "en": ["maybe the party, honestly — I love a crowd", "Secret, obviously.", "It depends on the weather",
           "Sure, a huge party on the roof!", "The party!", "both, one after the other: dinner then dancing",
           "idk, probably a small dinner with close friends"],
    "ja": ["たぶん大勢呼ぶかな、にぎやかなのが好きだから", "少人数派です", "どっちでもいいけど、強いて言えば少人数",
           "いいね、屋上でバーベキューしよう", "考えておきます。でも多分家でゆっくりしたい"],
    "zh": ["热闹的聚会吧", "都行，不过我更喜欢在家看电影", "可能吧，我喜欢人多", "看情况，下雨就在家", "哈哈，当然是聚会！"],
}  # fmt: skip


# --- the rule ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_rule_flags_replies_that_are_nothing_but_non_commitment(lang: str) -> None:
    missed = [r for r in NON_COMMITTAL[lang] if not is_noncommittal(r, CHOICE[lang])]
    assert not missed


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_rule_passes_replies_that_also_say_something(lang: str) -> None:
    flagged = [r for r in ANSWERS[lang] if is_noncommittal(r, CHOICE[lang])]
    assert not flagged


@pytest.mark.parametrize(("lang", "assent", "evasive"), [("en", "Sure!", "maybe"), ("ja", "いいよ！", "たぶん"),
                                                         ("zh", "好啊", "再说吧")])  # fmt: skip
def test_bare_assent_answers_a_yes_no_question_but_evasion_never_does(lang, assent, evasive) -> None:
    assert not is_noncommittal(assent, YES_NO[lang])
    assert is_noncommittal(assent, CHOICE[lang])
    assert is_noncommittal(evasive, YES_NO[lang]) and is_noncommittal(evasive, CHOICE[lang])


def test_a_non_committal_reply_is_refused_by_rule_with_its_reason() -> None:
    res = answer_rule(CHOICE["en"], "Sure, why not! 😆")
    assert res is not None and not res.answered and res.by == "rule" and res.reason == NONCOMMITTAL_REASON
    assert answer_rule(CHOICE["en"], "maybe the party, honestly — I love a crowd") is None


async def test_check_reply_refuses_the_catchphrase_without_calling_the_judge(scenario) -> None:
    class Unreachable:
        name = "unreachable"

        async def complete(self, messages, params):
            raise AssertionError("the rule decides this one")

        def close(self) -> None: ...

    state = scenario.state("d2_system")
    res = await check_reply(Unreachable(), state, state.opener.get("en"), "Sure, why not! 😆")
    assert not res.answered and res.reason == NONCOMMITTAL_REASON


# --- the judge's prompt --------------------------------------------------------------------------------


def test_the_judge_writes_its_reason_before_its_verdict(scenario) -> None:
    assert list(CHECK_SCHEMA["properties"]) == ["reason", "answered"] == CHECK_SCHEMA["required"]
    msgs = judge_messages(scenario.ordered_states()[0][1], "q?", "r")
    for shown in msgs[2:-1:2]:
        assert list(json.loads(shown["content"])) == ["reason", "answered"]
    assert msgs[-1]["content"].index('"reason"') < msgs[-1]["content"].index('"answered"')


def test_the_local_grammar_generates_the_reason_first() -> None:
    from llama_cpp.llama_grammar import json_schema_to_gbnf

    root = next(
        line for line in json_schema_to_gbnf(json.dumps(CHECK_SCHEMA)).splitlines() if line.startswith("root")
    )
    assert root.index("reason") < root.index("answered"), root


def test_the_examples_show_non_answers_of_every_kind_in_every_language() -> None:
    from sharehouse.textclean import script_matches

    refused = [ex for ex in JUDGE_EXAMPLES if not ex.answered]
    reasons = " ".join(ex.reason for ex in refused)
    assert "non-committal" in reasons and "puts it off" in reasons
    assert "different question" in reasons and "changes the subject" in reasons
    noncommittal = [ex for ex in refused if "non-committal" in ex.reason or "puts it off" in ex.reason]
    assert {lang for ex in noncommittal for lang in ("ja", "zh") if script_matches(ex.reply, lang)} == {
        "ja",
        "zh",
    }
    # a hedged reply that picks something is an answer
    assert any(ex.answered and ex.reply.lower().startswith("hmm maybe") for ex in JUDGE_EXAMPLES)
    # the examples are unlike the check set's questions and the scenario's
    questions = {item.question for item in load_check_set()}
    assert not questions & {ex.question for ex in JUDGE_EXAMPLES}


# --- the check set -------------------------------------------------------------------------------------


def test_the_check_set_is_labelled_and_balanced() -> None:
    items = load_check_set()
    assert len(items) >= 150 and len({i.id for i in items}) == len(items)
    for lang in LANGUAGES:
        for label in ("answer", *NEGATIVES):
            assert sum(i.language == lang and i.label == label for i in items) >= 8, (lang, label)
    for item in items:
        assert (item.reply_source is not None) == (item.label == "other-question")
        if item.reply_source is not None:
            assert item.reply_source.file != item.source.file


def test_every_item_has_the_lines_of_its_other_days() -> None:
    from bench.bench_check import load_day_lines, other_days

    lines = load_day_lines()
    for item in load_check_set():
        days = lines[item.source.file]
        assert item.question in days[item.source.day], item.id
        others = other_days(item, lines)
        assert others and item.question not in others, item.id


def test_the_check_set_rebuilds_identically_from_the_real_turns(yntp_dir: Path, tmp_path: Path) -> None:
    from scripts.build_check_set import main

    out = tmp_path / "check_set.jsonl"
    assert main(["--yntp", str(yntp_dir), "--out", str(out)]) == 0
    assert out.read_bytes() == CHECK_SET.read_bytes()
    assert (tmp_path / CHECK_SET_LINES.name).read_bytes() == CHECK_SET_LINES.read_bytes()


def test_the_rule_rejects_no_real_answer_and_catches_listed_non_answers() -> None:
    items = load_check_set()
    wrongly = [i.id for i in items if i.label == "answer" and is_noncommittal(i.reply, i.question)]
    assert not wrongly
    caught = [i for i in items if i.label == "non-answer" and is_noncommittal(i.reply, i.question)]
    assert len(caught) >= 0.4 * sum(i.label == "non-answer" for i in items)


# --- real models ---------------------------------------------------------------------------------------

#: The largest rates allowed on the stratified subset (2 items per language × label: 6 answers and 6
#: of each negative class), set at what was measured there (bench/RESULTS.md, 2026-12-02) plus a
#: margin, so that they fail on a regression. Neither model meets the targets (≤ 0.10) yet: the rule
#: catches the listed phrasings, the judge few of the rest. Measured: local:small false-reject 0/6,
#: non-answer 2/6, off-topic 6/6, other-question 5/6; local 0/6, 2/6, 4/6, 6/6. A class measured at 6/6
#: gets no bound of its own (it could not fail); "negatives" bounds all 18 together.
SMALL_SUBSET_MAX = {"false-reject": 0.17, "non-answer": 0.5, "negatives": 0.9}
LOCAL_SUBSET_MAX = {"false-reject": 0.17, "non-answer": 0.5, "off-topic": 0.84, "negatives": 0.84}


def _assert_within(outcomes, limits) -> None:
    assert sum(o.result.by == "fallback" for o in outcomes) == 0
    got = {"false-reject": false_rejects(outcomes).value, "negatives": false_accepts(outcomes).value}
    got |= {label: false_accepts(outcomes, label).value for label in NEGATIVES}
    assert all(got[k] <= limits[k] for k in limits), got


@pytest.mark.model
@pytest.mark.slow  # about 20 judge calls: over a minute on two shared cores
async def test_the_small_model_on_a_stratified_subset(small_model) -> None:
    items = stratified(load_check_set(), 2)
    assert len(items) == 24
    outcomes = await run_check_set(small_model, items)
    judged = [o for o in outcomes if o.result.by == "llm"]
    assert judged and all(o.result.completion.text.lstrip().startswith('{"reason"') for o in judged)
    _assert_within(outcomes, SMALL_SUBSET_MAX)


@pytest.mark.model
@pytest.mark.slow  # the 1.5B model: about a minute per judge call on two shared cores
async def test_the_default_model_on_a_stratified_subset() -> None:
    from sharehouse.llm import load_model

    outcomes = await run_check_set(load_model("local"), stratified(load_check_set(), 2))
    _assert_within(outcomes, LOCAL_SUBSET_MAX)


def test_a_reply_that_only_asks_what_the_line_means_is_refused_by_rule() -> None:
    from sharehouse.engine.checks import CLARIFICATION_REASON, is_clarification

    for reply in ("What do you mean by flexible?", "柔軟ってどういう意味？", "你说的灵活是什么意思？"):
        res = answer_rule(CHOICE["en"], reply)
        assert res is not None and not res.answered and res.reason == CLARIFICATION_REASON
    # a question back after an answer, or a plain answer, is not a clarification
    assert not is_clarification("What do you mean? I would keep it secret.")
    assert not is_clarification("Fixed shelves for sure.")
    assert not is_clarification("I'd keep it quiet. What would you do?")
