"""Housemate lines written the ``react`` way: the model's one-sentence reaction to the last answer,
then the scenario's question. Unit tests of the prompt, the trimming and the reaction's own checks
in en/ja/zh, and the engine on a real DuckDB store with a model that returns chosen texts (good
reactions, and the faults a real model cannot be made to produce on demand)."""

from __future__ import annotations

import json

import pytest
from fakes import DownJudge

from sharehouse import textclean
from sharehouse.engine import reaction
from sharehouse.engine.npc import generate_line, join_line
from sharehouse.engine.npc_guard import LineRules
from sharehouse.engine.session import EngineParams, SessionRunner, start_session
from sharehouse.engine.users import PastTurn, ScriptedUser
from sharehouse.llm import Completion

SPEAKERS = ["Leo", "Mina", "Noel", "Kenji", "the newcomer"]


class _Says:
    """Returns its texts in turn (the last one for ever after) and keeps every prompt."""

    name = "fault:says"

    def __init__(self, *texts: str) -> None:
        self.texts = list(texts)
        self.prompts: list[list[dict]] = []

    async def complete(self, messages, params) -> Completion:
        self.prompts.append(messages)
        text = self.texts.pop(0) if len(self.texts) > 1 else self.texts[0]
        return Completion(text=text, model=self.name, prompt_tokens=5, completion_tokens=3)

    def close(self) -> None: ...


def _rules(lang: str = "en", replies=(), npc_lines=()) -> LineRules:
    return LineRules(
        lang=lang, replies=list(replies), npc_lines=list(npc_lines), speakers=SPEAKERS, needs_question=False
    )


def test_the_prompt_shows_worked_exchanges_then_the_one_to_react_to(scenario) -> None:
    kenji = scenario.npc("kenji")
    msgs = reaction.build_messages(
        kenji, "ja", asker="レオ", question="パーティーする？", answer="内緒にする"
    )
    assert [m["role"] for m in msgs] == ["system", *["user", "assistant"] * 3, "user"]
    assert "レオの質問：「パーティーする？」" in msgs[-1]["content"]
    assert "「内緒にする」" in msgs[-1]["content"]
    mine = reaction.build_messages(kenji, "ja", asker="ケンジ", question="計画する？", answer="する")
    assert mine[-1]["content"].startswith("あなたの質問")  # the speaker asked it itself
    follow = reaction.build_messages(
        kenji, "en", asker="Leo", question="Party?", answer="maybe", follow_up=True
    )
    assert "not really answered" in follow[-1]["content"]


def test_a_reaction_is_cut_to_its_first_sentences() -> None:
    long = "Ha, that is so you. " + "I would never manage that myself, honestly, not in a million years. " * 3
    assert reaction.trim(long, "en").startswith("Ha, that is so you.")
    assert reaction._width(reaction.trim(long, "en")) <= reaction.MAX_REACTION_WIDTH
    one = "x" * 300
    assert reaction.trim(one, "en") == one  # one sentence is kept whole: the guard judges it


def test_cjk_sentences_of_a_reaction_have_no_space_between_them() -> None:
    """The 1.5B model writes "ですね。 自分を…"; people write no space after a CJK full stop."""
    assert (
        reaction.trim("それは素晴らしいことですね。 自分もやってみたい。", "ja")
        == "それは素晴らしいことですね。自分もやってみたい。"
    )
    assert reaction.trim("好的。 我也是！", "zh") == "好的。我也是！"
    assert reaction.trim("うーん… 私も", "ja") == "うーん…私も"
    assert reaction.trim("Ha, same here.  I love it!", "en") == "Ha, same here. I love it!"
    assert reaction.trim("Wow… I love it", "en") == "Wow… I love it"


@pytest.mark.parametrize(
    ("lang", "raw", "kept"),
    [
        # the 1.5B model's Japanese reactions of run q-d5-r15 that went on to ask something
        ("ja", "ありがとう！みんなに何か教えていただけますか？", "ありがとう！"),
        (
            "ja",
            "お元気で、友達と遊んでましたね。今夜も新しい家で楽しい時間を過ごしてみませんか？",
            "お元気で、友達と遊んでましたね。",
        ),
        ("en", "Ha, classic Leo. Who would you even invite?", "Ha, classic Leo."),
        ("zh", "哈哈，好主意。你要一起吗", "哈哈，好主意。"),
        # a first sentence that asks stays, and the guard rejects it
        ("en", "A party? Ha.", "A party? Ha."),
        # musing and a negative are no questions: kept whole (None)
        ("ja", "うん、それね。一緒に協力するのが一番大事かな。", None),
        ("ja", "なるほど。それは譲れませんね。", None),
    ],
)
def test_a_reaction_stops_before_a_sentence_that_asks(lang: str, raw: str, kept: str | None) -> None:
    assert reaction.trim(raw, lang) == (raw if kept is None else kept)


@pytest.mark.parametrize(
    ("lang", "text", "reason"),
    [
        ("en", "Ha, a party for the whole street, I'd be there in a second.", None),
        ("en", "A party? Who would you invite?", "question"),
        ("en", "Ha, same boat here, payday can't come soon enough.", "repeat"),  # a worked example
        ("en", "I would throw a massive party and invite everyone I know!", "echo"),
        ("en", "Throw a massive party and invite everyone!", "echo"),  # restated, not reacted to
        ("en", "A massive party? Ha.", "question"),
        ("en", "Kenji: sounds fun.", "label"),
        ("en", "パーティー最高！", "language"),
        ("ja", "派手なパーティー、レオらしくていいね。", None),
        ("ja", "それって誰を呼ぶの？", "question"),
        ("ja", "誰を呼ぶんですか", "question"),
        ("ja", "一緒に協力するのが一番大事かな。", None),  # musing, not asking
        ("ja", "すみませんが、まずは棚を作らなければなりません。", None),  # a negative, not a question
        ("zh", "你要一起吗", "question"),
        ("zh", "无论发生什么，开派对都很热闹。", None),  # 什么 and 如何 inside a statement
        ("zh", "开派对啊，听起来太热闹了。", None),
        ("zh", "哈哈，发工资前真的难熬。", "repeat"),  # a worked example
    ],
)
def test_what_a_reaction_may_not_be(lang: str, text: str, reason: str | None) -> None:
    replies = ["I would throw a massive party and invite everyone I know!"]
    assert reaction.reaction_rejection(text, _rules(lang, replies=replies)) == reason


def test_restating_is_measured_in_words_and_cjk_character_pairs() -> None:
    assert reaction.restates(
        "Throw a big party and tell everyone!", "I'd throw a big party and tell lots of people!"
    )
    assert not reaction.restates("A party, nice!", "I'd throw a big party")  # too short to tell
    answer = "私なら絶対、みんなを呼んで派手に祝って、いろんな人に話す。"
    assert reaction.restates("みんなを呼んで派手に祝って、いろんな人に話す！", answer)
    assert not reaction.restates("派手なパーティー、レオらしくていいね。", answer)  # kana alone are no copy
    # half its character pairs is enough in CJK (run q-d5-r2; the real housemates: 0.5 % of lines)
    zh_answer = "我会尊重每个人的空间需求，共用冰箱不搞规矩。"
    assert reaction.restates("尊重每个人空间需求，共用冰箱不搞规矩，我绝对会。", zh_answer)
    assert reaction.share_in("共用冰箱挺好的，我家以前也是这样。", zh_answer) < reaction.RESTATE_SHARE_CJK
    assert not reaction.restates("共用冰箱挺好的，我家以前也是这样。", zh_answer)


@pytest.mark.parametrize(
    ("lang", "reply", "line", "echo"),
    [
        # seen in a 6-persona run: the housemate says the answer back in the player's own voice
        ("zh", "我会尽量不声张，让周围的人知道我收到了消息。", "我会尽量低调处理，避免影响情绪。", True),
        (
            "ja",
            "自分の自由で、誰でも喜ぶことができるからです",
            "自分の自由で、喜ぶことができるって素敵！",
            True,
        ),
        ("en", "I would keep it quiet and tell my mum.", "I would keep it quiet too, smart move.", True),
        # reacting in its own words is fine, however much it agrees
        ("zh", "我会尽量不声张，让周围的人知道我收到了消息。", "低调一点挺好的，我也会这样。", False),
        (
            "en",
            "I would keep it quiet and tell my mum.",
            "I would have told the whole street, honestly.",
            False,
        ),
        ("ja", "うん", "うん、わかる。", False),  # too short to tell
    ],
)
def test_a_reaction_opening_with_the_answers_first_words_is_an_echo(
    lang: str, reply: str, line: str, echo: bool
) -> None:
    assert textclean.opens_like(line, reply, lang) is echo
    assert (reaction.reaction_rejection(line, _rules(lang, replies=[reply])) == "echo") is echo


def test_a_sentence_already_said_inside_a_longer_line_is_a_repeat() -> None:
    earlier = ["Sounds like a plan to me. Anyway, what do you think about the fridge?"]
    assert reaction.reaction_rejection("Sounds like a plan to me!", _rules(npc_lines=earlier)) == "repeat"
    assert (
        reaction.reaction_rejection("Now that's a plan I can get behind.", _rules(npc_lines=earlier)) is None
    )


def test_join_keeps_cjk_sentences_together() -> None:
    assert join_line("Nice.", "Why?", "en") == "Nice. Why?"
    assert join_line("いいね。", "なんで？", "ja") == "いいね。なんで？"


async def test_a_day_opens_with_the_scenario_line_and_the_next_line_reacts_first(store, scenario) -> None:
    rec = start_session(store, scenario, kind="simulated", source="test", user_id="u", language="en")
    model = _Says("Ha, a party for the whole street, I'd be there in a second.")
    runner = SessionRunner(
        store, scenario, rec.id, npc_model=model,
        user=ScriptedUser(["I would throw a massive party!", "Plan first, for sure."]), check_model=DownJudge(),
    )  # fmt: skip
    first = await runner.step()
    state1 = scenario.state(first.state_id)
    assert first.message == state1.opener.en and not model.prompts  # scripted, no model call
    assert (first.npc_fallback, first.model) == (False, None)
    second = await runner.step()
    state2 = scenario.state(second.state_id)
    assert second.message == f"Ha, a party for the whole street, I'd be there in a second. {state2.opener.en}"
    assert second.npc_fallback is False and second.npc_rejected == 0
    assert 'answered: "I would throw a massive party!"' in model.prompts[0][-1]["content"]
    stored = store.load_turns(rec.id)
    assert [t.message for t in stored] == [first.message, second.message]


async def test_rejected_reactions_leave_the_question_alone_and_are_counted(store, scenario) -> None:
    rec = start_session(store, scenario, kind="simulated", source="test", user_id="u", language="en")
    model = _Says("What would you do?", "You: sure", "I would throw a massive party!")
    runner = SessionRunner(
        store, scenario, rec.id, npc_model=model,
        user=ScriptedUser(["I would throw a massive party!", "ok"]), check_model=DownJudge(),
    )  # fmt: skip
    await runner.step()
    second = await runner.step()
    assert second.message == scenario.state(second.state_id).opener.en and second.npc_fallback is True
    assert json.loads(store.load_turns(rec.id)[1].npc_reject_reasons) == ["question", "label", "echo"]


async def test_a_follow_up_reacts_then_asks_the_choice(scenario) -> None:
    state = next(s for _d, s in scenario.ordered_states() if s.poles)
    history = [PastTurn(1, "Leo", "Party or secret?", "hmm, maybe")]
    line = await generate_line(
        _Says("Ha, keeping us guessing."),
        scenario,
        state,
        "en",
        1,
        history,
        player="the newcomer",
        follow_up="vague",
    )
    a, b = (state.poles[x].en for x in state.mbti.split("/"))
    assert line.text == f"Ha, keeping us guessing. Would you rather {a}, or {b}?" and not line.fallback


async def test_compose_mode_asks_the_model_for_the_whole_line(store, scenario) -> None:
    rec = start_session(store, scenario, kind="simulated", source="test", user_id="u", language="en")
    model = _Says("So, party or secret — which would you pick?")
    runner = SessionRunner(
        store, scenario, rec.id, npc_model=model, user=ScriptedUser(["Secret."]), check_model=DownJudge(),
        params=EngineParams(housemates="compose"),
    )  # fmt: skip
    first = await runner.step()
    assert first.message == "So, party or secret — which would you pick?" and len(model.prompts) == 1


async def test_an_unknown_mode_is_refused(scenario) -> None:
    state = scenario.ordered_states()[0][1]
    with pytest.raises(ValueError, match="housemate mode 'chatty'"):
        await generate_line(_Says("x"), scenario, state, "en", 1, [], player="p", mode="chatty")  # type: ignore[arg-type]
