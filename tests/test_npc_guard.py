"""Housemate lines are validated before they are shown: no echo of the player, no repeat of an
earlier line, only speech (no markup, labels, lists, preambles or narration), a question, the
session's language, no leaked instructions. Hand-made lines in en/ja/zh for each reason (and good
lines that must pass); a model that parrots the player (a fault the real model cannot be made to
produce on demand) through the engine and a real DuckDB store, including a resumed pending line."""

from __future__ import annotations

import json

import pytest
from fakes import DownJudge

from sharehouse.engine.npc import REASK, build_messages, choice_question, generate_line, scenario_line
from sharehouse.engine.npc_guard import LineRules, rejection
from sharehouse.engine.session import EngineParams, SessionRunner, start_session
from sharehouse.engine.users import PastTurn, ScriptedUser
from sharehouse.llm import Completion
from sharehouse.textclean import normalise

SPEAKERS = {
    "en": ["Leo", "Mina", "Noel", "Kenji", "the newcomer"],
    "ja": ["レオ", "ミナ", "ノエル", "ケンジ", "Leo", "Mina", "Noel", "Kenji", "新入り"],
    "zh": ["利奥", "米娜", "诺埃尔", "健二", "Leo", "Mina", "Noel", "Kenji", "新室友"],
}
PLAYER = {"en": "the newcomer", "ja": "新入り", "zh": "新室友"}


def rules(lang: str, replies=(), npc_lines=(), **kw) -> LineRules:
    return LineRules(
        lang=lang,
        replies=list(replies),
        npc_lines=list(npc_lines),
        speakers=SPEAKERS[lang],
        player=PLAYER[lang],
        **kw,
    )


def test_normalise_folds_case_punctuation_and_space() -> None:
    assert normalise("Sure, why NOT!  😆") == normalise("sure why not") == "sure why not"
    assert normalise("私は絶対に決めていきます。") == "私は絶対に決めていきます"
    assert normalise("ＡＢＣ，　好吗？") == "abc 好吗"


# -- good lines pass ---------------------------------------------------------------------------------
GOOD = {
    "en": (
        ["I'd rather have a quiet night in with a movie."],
        "Oh nice, a quiet night in sounds cozy! So what would you cook for the house on a Sunday?",
    ),
    "ja": (
        ["静かな夜に映画を見たいです。"],
        "静かな夜もいいね。じゃあ、日曜の夜はみんなに何を作りたい？",
    ),
    "zh": (
        ["我想安安静静地在家看电影。"],
        "在家看电影听起来挺舒服的。那周末你想给大家做什么菜呢？",
    ),
}


@pytest.mark.parametrize("lang", ["en", "ja", "zh"])
def test_good_lines_pass_even_sharing_words_with_the_reply(lang: str) -> None:
    replies, line = GOOD[lang]
    earlier = {
        "en": "Dude, party or secret? 🎉",
        "ja": "派手に祝う？それとも内緒？",
        "zh": "开派对还是保密？",
    }
    assert rejection(line, rules(lang, replies, [earlier[lang]])) is None


@pytest.mark.parametrize("lang", ["en", "ja", "zh"])
def test_every_written_line_of_the_scenario_passes(scenario, lang: str) -> None:
    """The scenario's questions, each after all the earlier ones, are good lines ("What about you:
    ..." is no speaker label)."""
    said: list[str] = []
    for _, state in scenario.ordered_states():
        lines = [line for line in (state.opener.get(lang), choice_question(state, lang)) if line]
        for line in lines:  # each against the lines of the earlier states
            assert rejection(line, rules(lang, npc_lines=said, intent=state.intent)) is None, line
        said += lines


@pytest.mark.parametrize(
    ("lang", "line"),
    [
        ("ja", "週末は何をするんですか。"),  # a question without a question mark
        ("ja", "それって、本当に大丈夫ですか…"),
        ("ja", "あれ、ゴミの日って何曜日だっけ"),
        ("zh", "你周末一般做什么呢。"),
        ("zh", "你觉得这样安排怎么样。"),
        ("zh", "周末的话，那你们呢"),
    ],
)
def test_question_particles_count_as_questions(lang: str, line: str) -> None:
    assert rejection(line, rules(lang)) is None


# -- each reason -------------------------------------------------------------------------------------
CASES: list[tuple[str, str, list[str], list[str], str]] = [
    # lang, reason, replies, earlier housemate lines, line
    ("en", "echo", ["Sure, why not! 😆"], [], "Sure, why not! 😆"),
    ("en", "echo", ["Sure, why not! 😆"], [], "sure... WHY NOT?"),
    ("en", "echo", ["Sure, why not! 😆"], [], "Sure, why not! 😆 What about you?"),
    (
        "en",
        "echo",
        ["Weekends are for long walks by the river and a good book.", "ok"],
        [],
        "Weekends are for long walks by the river and a good book, right?",
    ),
    ("ja", "echo", ["私は絶対に決めていきます。"], [], "私は絶対に決めていきます！"),
    (
        "zh",
        "echo",
        ["我觉得厨房可以排个值日表，大家轮流打扫。"],
        [],
        "我觉得厨房可以排个值日表，大家轮流打扫吗？",
    ),
    (
        "en",
        "repeat",
        ["no idea"],
        ["Oh no, I really should have thought better about that…"],
        "Oh no, I really should have thought better about that… right?",
    ),
    (
        "ja",
        "repeat",
        [],
        ["うーん…今日はなんだか青っぽい灰色の日だね。空が迷ってるみたい。"],
        "うーん、今日はなんだか青っぽい灰色の日だね。空が迷ってるみたいかな？",
    ),
    (
        "zh",
        "repeat",
        [],
        ["如果方便的话，我们能在周五之前定下来吗？"],
        "如果方便的话，我们能在周五之前定下来吗？",
    ),
    ("en", "markup", [], [], "[Day 2]"),
    ("ja", "markup", [], [], "[Day 2, Morning] ケンジ: [Day 2, Morning] ケンジ: 何か問題ある？"),
    ("en", "markup", [], [], "*smiles warmly* So, party or secret?"),
    ("en", "markup", [], [], "(laughs) So, party or secret?"),
    ("en", "label", [], [], "Sure! Mina: what would you do with the money?"),
    ("ja", "label", [], [], "ケンジ：ゴミ出しは木曜日でいいですか？"),
    ("zh", "label", [], [], "你：我会开派对吗？"),
    ("ja", "list", [], [], "1. ミナは、実用的で3割 cheaperの案を選んだ。\n2. それでいい？"),
    ("en", "list", [], [], "- a big party?\n- keep it secret?"),
    ("en", "preamble", [], [], "Sure, here's one answer: would you throw a party?"),
    ("en", "preamble", [], [], "Here is one possible line: party or secret?"),
    ("ja", "preamble", [], [], "以下はレオのセリフです。パーティーする？"),
    ("zh", "preamble", [], [], "以下是一个回答：你会开派对吗？"),
    # an assistant's offer of help (the 1.5B model's Japanese reactions, run q-d5-r8)
    (
        "ja",
        "preamble",
        [],
        [],
        "お手伝いできましたね。何か他に助けることがあればどうぞ教えてください。パーティーする？",
    ),
    ("en", "preamble", [], [], "Let me know if you need anything else! Party or secret?"),
    ("zh", "preamble", [], [], "有什么可以帮你的吗？你会开派对吗？"),
    ("en", "narration", [], [], "Yes, the player preferred a lively house full of people and noise."),
    ("en", "narration", [], [], "The newcomer preferred the quiet option, didn't they?"),
    ("en", "narration", [], [], "Leo grins and leans in. Party or secret?"),
    ("ja", "narration", [], [], "プレイヤーは静かな家を選んだのかな？"),
    ("zh", "narration", [], [], "玩家更喜欢热闹的房子吗？"),
    ("en", "language", [], [], "这不是英语吗？"),
    ("ja", "language", [], [], "Would you throw a party or keep it secret?"),
    ("zh", "language", [], [], "パーティーする？それとも内緒にする？"),
    ("en", "no-question", [], [], "I love a good party, honestly."),
    ("ja", "no-question", [], [], "いいね、楽しみだね。"),
    ("zh", "no-question", [], [], "我很喜欢热闹的派对。"),
    ("en", "leak", [], [], "Haha, my system prompt? No way, dude!"),
    ("en", "leak", [], [], "You want to find out: would they party?"),
    ("zh", "leak", [], [], "你是说我的系统提示吗？"),
    ("en", "empty", [], [], "ok?"),
    ("ja", "empty", [], [], "……？"),
]


#: housemates offering to help as people do: speech, not an assistant's offer
HELPING = [
    ("en", "I can help you carry it up the stairs, by the way. Party or secret?"),
    ("ja", "ペンキ塗り、お手伝いするよ！パーティーする？"),
    ("zh", "我帮你一起搬吧。你会开派对吗？"),
]


@pytest.mark.parametrize(("lang", "line"), HELPING)
def test_a_housemate_may_offer_a_hand(lang: str, line: str) -> None:
    assert rejection(line, rules(lang, [], [])) is None


@pytest.mark.parametrize(("lang", "reason", "replies", "earlier", "line"), CASES)
def test_each_reason(lang: str, reason: str, replies: list[str], earlier: list[str], line: str) -> None:
    assert rejection(line, rules(lang, replies, earlier)) == reason


def test_copied_instructions_are_a_leak() -> None:
    sheet = ["Always answer as Leo only, in English only: one to three short spoken sentences that end"]
    line = "One to three short spoken sentences that end with a question, huh?"
    assert rejection(line, rules("en", protected=sheet)) == "leak"
    assert rejection("Party or secret, what would you do?", rules("en", protected=sheet)) is None


def test_a_statement_passes_when_no_question_is_asked() -> None:
    assert rejection("I love a good party, honestly.", rules("en", needs_question=False)) is None


def test_the_scenario_line_is_one_not_said_yet(scenario) -> None:
    """A first ask gets the written question; a follow-up the choice between the dimension's two
    sides (in the scenario's words), then the written question, then that question re-asked."""
    state = scenario.ordered_states()[0][1]
    assert state.poles is not None
    assert scenario_line(state, "en", []) == state.opener.en
    choice = choice_question(state, "ja")
    assert state.poles["E"].ja in choice and state.poles["I"].ja in choice
    said = [PastTurn(1, "Leo", state.opener.ja, "まあね")]
    assert scenario_line(state, "ja", said, follow_up=True) == choice
    said.append(PastTurn(1, "Leo", choice, "うーん"))
    assert scenario_line(state, "ja", said, follow_up=True) == REASK["ja"] + state.opener.ja
    assert scenario_line(state, "ja", said[:1]) == REASK["ja"] + state.opener.ja


def test_the_prompt_asks_for_content_and_lists_what_was_said(scenario) -> None:
    """The instruction asks for a reaction to what the player meant, never their words, and shows
    the housemate's own earlier lines (also those of a finished day, cut from the transcript)."""
    order = scenario.ordered_states()
    state = next(s for d, s in order if d == 2)
    npc = scenario.npc(state.npc)
    mine = f"{npc.name.en}'s old line about the bins, from day one?"
    history = [
        PastTurn(1, npc.name.en, mine, "I would throw a party"),
        *(PastTurn(1, "Mina", f"question {i}?", f"answer {i}") for i in range(3)),
        PastTurn(2, "Mina", "Fixed shelves or a flexible fridge?", "Sure, why not! 😆"),
    ]
    [system, user] = build_messages(scenario, state, "en", 2, history, player="Sam")
    instruction = user["content"].rpartition("Instruction: ")[2]
    assert "React briefly to the last answer" not in instruction
    assert "never quote or repeat Sam's words" in instruction
    assert "You already said these" in instruction and mine in instruction
    assert mine not in user["content"].rpartition("Instruction: ")[0]  # day 1 is cut to its last turns
    assert "Never repeat what Sam wrote" in system["content"]


# -- a model that parrots the player, through the engine --------------------------------------------
class _Parrot:
    """Says the player's last reply back (``react``: the answer the prompt reacts to; ``compose``:
    the last "You: ..." line of the prompt's dialogue), or a fixed good question when there is none
    yet."""

    name = "fault:parrot"

    def __init__(self) -> None:
        self.calls = 0

    async def complete(self, messages, params) -> Completion:
        self.calls += 1
        last = messages[-1]["content"]
        if 'answered: "' in last:
            return Completion(text=last.split('answered: "')[1].split('"\n')[0], model=self.name)
        talk = last.partition("Instruction: ")[0]
        said = [line[len("You: ") :] for line in talk.splitlines() if line.startswith("You: ")]
        text = said[-1] if said else "Dude, what would you do with a jackpot, party or keep it secret? 🎉"
        return Completion(text=text, model=self.name, prompt_tokens=5, completion_tokens=3)

    def close(self) -> None: ...


class _Crash(Exception):
    pass


class _CrashingUser:
    async def reply(self, ctx):
        raise _Crash


REPLY = "I would throw a massive party and invite everyone I know!"


@pytest.mark.parametrize("mode", ["react", "compose"])
async def test_a_parroting_model_is_regenerated_then_the_scenario_line_stands(store, scenario, mode) -> None:
    rec = start_session(store, scenario, kind="simulated", source="test", user_id="u", language="en")
    parrot = _Parrot()
    runner = SessionRunner(
        store, scenario, rec.id, npc_model=parrot, user=ScriptedUser([REPLY]), check_model=DownJudge(),
        params=EngineParams(housemates=mode),
    )  # fmt: skip
    first = await runner.step()
    assert (first.npc_fallback, first.npc_rejected, json.loads(first.npc_reject_reasons)) == (False, 0, [])
    opened = 1 if mode == "compose" else 0  # react: a day opens with the scenario's line, no model call
    assert parrot.calls == opened
    second = await runner.step()
    assert parrot.calls == opened + 3  # the echo, then two regenerations
    state = scenario.state(second.state_id)
    assert second.message == state.opener.en and second.npc_fallback is True
    stored = store.load_turns(rec.id)[1]
    assert stored.npc_rejected == 3 and json.loads(stored.npc_reject_reasons) == ["echo"] * 3
    assert REPLY not in stored.message


@pytest.mark.parametrize("mode", ["react", "compose"])
async def test_generate_line_reports_each_rejection(scenario, mode) -> None:
    state = scenario.ordered_states()[1][1]
    history = [PastTurn(1, "Leo", "Party or secret?", REPLY)]
    line = await generate_line(_Parrot(), scenario, state, "en", 1, history, player="the newcomer", mode=mode)
    assert (line.fallback, line.rejected, line.leaks) == (True, ["echo", "echo", "echo"], 0)


async def test_a_resumed_pending_line_keeps_its_rejections(store, scenario) -> None:
    rec = start_session(store, scenario, kind="simulated", source="test", user_id="u", language="en")
    first = SessionRunner(
        store, scenario, rec.id, npc_model=_Parrot(), user=ScriptedUser([REPLY]), check_model=DownJudge()
    )
    await first.step()  # the day's opening line (the scenario's own), answered
    crashing = SessionRunner(
        store, scenario, rec.id, npc_model=_Parrot(), user=_CrashingUser(), check_model=DownJudge()
    )
    with pytest.raises(_Crash):
        await crashing.step()
    pending = store.get_session(rec.id)
    assert pending.pending_npc_rejected == 3
    assert json.loads(pending.pending_npc_reject_reasons) == ["echo"] * 3

    unused = _Parrot()
    resumed = SessionRunner(
        store,
        scenario,
        rec.id,
        npc_model=unused,
        user=ScriptedUser(["Quiet, honestly."]),
        check_model=DownJudge(),
    )
    turn = await resumed.step()
    assert unused.calls == 0  # the pending line was shown again
    assert turn.npc_rejected == 3 and json.loads(turn.npc_reject_reasons) == ["echo"] * 3
    assert turn.npc_fallback is True
    after = store.get_session(rec.id)
    assert after.pending_npc_rejected is None and after.pending_npc_reject_reasons is None


def test_rejections_are_exported(tmp_path) -> None:
    """JSON Lines and Parquet carry the count and the reasons (a list), null where not recorded."""
    import duckdb

    from sharehouse.io import export_sessions
    from sharehouse.store import SessionRecord, Store, TurnRecord

    with Store(tmp_path / "x.duckdb") as st:
        st.create_session(
            SessionRecord(
                id="s1", kind="simulated", source="simulate", user_id="u", language="en", status="complete"
            )
        )
        st.append_turn(
            TurnRecord(session_id="s1", day=1, idx=0, npc="Leo", message="q?", response="a", verdict="advance",
                       npc_fallback=True, npc_rejected=3, npc_reject_reasons=json.dumps(["echo", "repeat", "markup"]))
        )  # fmt: skip
        st.append_turn(TurnRecord(session_id="s1", day=1, idx=1, npc="Leo", message="q2?", response="b"))
        export_sessions(st, tmp_path / "t.jsonl", "jsonl")
        export_sessions(st, tmp_path / "t.parquet", "parquet")
    rows = [json.loads(line) for line in (tmp_path / "t.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [(r["npc_rejected"], r["npc_reject_reasons"]) for r in rows] == [
        (3, ["echo", "repeat", "markup"]),
        (None, None),
    ]
    with duckdb.connect() as con:
        parquet = tmp_path / "t.parquet"
        got = con.execute(
            f"SELECT npc_rejected, npc_reject_reasons FROM read_parquet('{parquet}') ORDER BY idx"
        )
        assert got.fetchall() == [(3, ["echo", "repeat", "markup"]), (None, None)]


def test_sessions_show_marks_turns_with_rejected_lines() -> None:
    from rich.console import Console

    from sharehouse.store import SessionRecord, TurnRecord
    from sharehouse.views import render_transcript

    rec = SessionRecord(
        id="s1", kind="simulated", source="simulate", user_id="u", language="en", status="complete"
    )
    turns = [
        TurnRecord(session_id="s1", day=1, idx=0, npc="Leo", message="Party?", response="yes", verdict="advance",
                   npc_fallback=True, npc_rejected=3, npc_reject_reasons=json.dumps(["echo", "echo", "no-question"])),
        TurnRecord(session_id="s1", day=1, idx=1, npc="Mina", message="Shelves?", response="fixed", verdict="advance",
                   npc_fallback=False, npc_rejected=0, npc_reject_reasons="[]"),
    ]  # fmt: skip
    console = Console(record=True, width=200)
    render_transcript(console, rec, turns)
    lines = console.export_text().splitlines()
    marked = next(line for line in lines if "↳ reply" in line and "yes" in line)
    assert "written line" in marked and "3 housemate lines rejected (echo, no-question)" in marked
    assert "rejected" not in next(line for line in lines if "↳ reply" in line and "fixed" in line)
    assert any("rejected by the guard: 3 in 1 of 2 turns" in line for line in lines)


@pytest.mark.parametrize("lang", ["en", "ja", "zh"])
def test_a_follow_up_may_say_its_choice(scenario, lang: str) -> None:
    """The follow-up's gist (the choice between the two sides) is in the prompt, and saying it is
    no leak."""
    from sharehouse.engine.npc import _allowed_texts, instruction_texts
    from sharehouse.engine.npc_guard import leaked_instructions

    state = scenario.ordered_states()[0][1]
    npc = scenario.npc(state.npc)
    history = [PastTurn(1, npc.name.get(lang), state.opener.get(lang), "hmm")]
    messages = build_messages(scenario, state, lang, 1, history, player=PLAYER[lang], follow_up="too vague")
    choice = choice_question(state, lang)
    assert choice in messages[-1]["content"]
    protected = instruction_texts(messages, _allowed_texts(scenario, state, npc, lang, PLAYER[lang]))
    assert leaked_instructions(choice, protected) is None
    assert rejection(choice, rules(lang, ["hmm"], [state.opener.get(lang)], protected=protected)) is None
