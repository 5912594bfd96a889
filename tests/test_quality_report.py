"""The dialogue-quality report: a repeating, echoing simulator is flagged; real people's dialogues pass;
the real YNTP-100 numbers agree with a hand count and with the spec's table."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from sharehouse.engine.session import SessionRunner, start_session
from sharehouse.engine.users import ScriptedUser, TurnContext, UserReply
from sharehouse.llm import Completion, LLMError
from sharehouse.realism.quality import (
    TARGETS,
    measure_dialogues,
    npc_echo_flags,
    npc_shared_flags,
    quality_report,
    repeated_clause_flags,
    repeated_opener_flags,
    repeated_start_flags,
    scenario_sides,
    scripted_line,
    self_repeat_rate,
    stance_side_flags,
)
from sharehouse.realism.quality_data import Dialogue, store_dialogues, yntp_dialogues
from sharehouse.store import Store
from sharehouse.store.bulk import insert_turns
from sharehouse.store.records import SessionRecord, TurnRecord
from sharehouse.textclean import (
    clauses,
    drop_near_repeated_sentences,
    drop_opener,
    drop_repeated_clauses,
    drop_reused_phrases,
    gives_reason,
    opens_with_i,
    phrases,
    sentences,
)

# The spec's table (shared/spec/quality.md): the real people, all 100, days 1-5.
SPEC = {
    "en": {"self_repeat": 0.000, "distinct": 1.000, "relevance": 0.42, "mean_length": 128},
    "ja": {"self_repeat": 0.002, "distinct": 0.998, "relevance": 0.36, "mean_length": 60},
    "zh": {"self_repeat": 0.004, "distinct": 0.996, "relevance": 0.31, "mean_length": 38},
}
#: not in the spec: counted here (en 106/567, ja 31/658, zh 35/579 housemate lines share a sentence
#: of 16+ letters with another person's session, e.g. "perhaps my expectations were too high")
REAL_NPC_SHARED = {"en": 0.187, "ja": 0.047, "zh": 0.060}
# Replies opening with the interjection an earlier reply of the session opened with (hand-checked:
# English people vary "Yeah," / "Well," / "Yes,"; the 1.5B user opened 17 % of its replies alike).
REAL_REPEATED_OPENERS = {"en": 0.048, "ja": 0.014, "zh": 0.014}
# Replies starting with the first two words (CJK: three letters) of an earlier reply of the session.
REAL_REPEATED_STARTS = {"en": 0.1499, "ja": 0.0608, "zh": 0.0846}
REAL_REPEATED_SENTENCES = {"en": 0.0053, "ja": 0.0091, "zh": 0.0017}  # 3/567, 6/658, 1/579
REAL_REUSED_PHRASES = {"en": 0.0176, "ja": 0.0350, "zh": 0.0086}  # 10/567, 23/658, 5/579
REAL_NPC_RESTATES = {"en": 0.0, "ja": 0.0081, "zh": 0.0024}  # 0/402, 4/493, 1/409
# Replies repeating a clause of an earlier reply of the session (the 1.5B user: .15 en, .20 ja, all
# of them the stance's reason, "I care about practicality", pasted into answer after answer).
REAL_REPEATED_CLAUSES = {"en": 0.0035, "ja": 0.0061, "zh": 0.0104}


def _en_samples() -> tuple[str, list[str]]:
    from sharehouse.personas.io import default_personas_path, load_personas

    persona = next(p for p in load_personas(default_personas_path()) if p.language == "en")
    return persona.id, persona.style.example_texts()


class _Catchphrases(ScriptedUser):
    """A simulated user stuck on two catchphrases; remembers what it said last."""

    def __init__(self, phrases: list[str]) -> None:
        super().__init__(phrases * 40)
        self.last: str | None = None

    async def reply(self, ctx: TurnContext) -> UserReply:
        out = await super().reply(ctx)
        self.last = out.text
        return out


class _EchoNPC:
    """A housemate model that says back the player's last reply (its first line is a real question)."""

    name = "echo:npc"

    def __init__(self, user: _Catchphrases) -> None:
        self.user = user

    async def complete(self, messages, params) -> Completion:
        text = self.user.last or "Hey, would you rather spend a win on a party or keep it quiet?"
        return Completion(text=text, model=self.name, prompt_tokens=10, completion_tokens=5)

    def close(self) -> None: ...


class _DownJudge:
    name = "down"

    async def complete(self, messages, params) -> Completion:
        raise LLMError("judge down")

    def close(self) -> None: ...


async def _play_repeating_sessions(store: Store, scenario, n: int = 2) -> tuple[str, list[str]]:
    persona_id, samples = _en_samples()
    for i in range(n):
        rec = start_session(
            store, scenario, kind="simulated", source="simulate", user_id=f"{persona_id}#{i}",
            language="en", run_id="repeating", persona_id=persona_id, session_id=f"rep-{i}",
        )  # fmt: skip
        # the first session copies a persona example, the second says two short catchphrases
        first = samples[0] if i == 0 else "Sure, why not! 😆"
        user = _Catchphrases([first, "I'll think about it."])
        runner = SessionRunner(
            store, scenario, rec.id, npc_model=_EchoNPC(user), user=user, check_model=_DownJudge()
        )
        done = await runner.run()
        assert done.status == "complete"
    return persona_id, samples


@pytest.fixture(scope="module")
def small_yntp(yntp_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Ten English people of YNTP-100 (the encoders stay within the default suite's time)."""
    root = tmp_path_factory.mktemp("yntp")
    (root / "en").mkdir()
    for i in range(1, 11):
        (root / "en" / f"en_{i}.json").write_bytes((yntp_dir / "en" / f"en_{i}.json").read_bytes())
    return root


@pytest.fixture(scope="module")
def real_en(small_yntp: Path) -> list[Dialogue]:
    return yntp_dialogues(small_yntp)


# -- a degenerate simulator must be flagged ---------------------------------------------------------


async def test_repeating_echoing_simulator_is_flagged(store: Store, scenario, real_en) -> None:
    _, samples = await _play_repeating_sessions(store, scenario)
    sim = store_dialogues(store, run_id="repeating")
    assert len(sim) == 2 and all(d.samples for d in sim)
    report = quality_report(real_en, sim, store=store)
    en = report.language("en")
    assert en.sim is not None and en.real is not None
    # two phrases over a whole session: all but the first two replies repeat an earlier one
    assert en.sim.self_repeat is not None and en.sim.self_repeat > 0.8
    assert en.sim.distinct is not None and en.sim.distinct < 0.2
    said_example = sum(t.response == samples[0] for t in store.load_turns("rep-0"))
    assert said_example > 5 and en.sim.sample_copies == said_example
    assert en.target("self_repeat").passed is False
    assert en.target("sample_copies").passed is False
    # the housemates either echo the player (and it is counted) or their lines were replaced
    echo, fallback = en.sim.npc_echo or 0.0, en.sim.npc_fallback or 0.0
    assert echo > 0.3 or fallback > 0.5, (echo, fallback)
    assert en.target("npc_echo").passed is False or en.target("npc_fallback").passed is False
    # the same lines whatever the question: less relevant than the real people's replies
    assert en.sim.relevance is not None and en.real.relevance is not None
    assert en.sim.relevance < en.real.relevance
    assert not report.passed


def test_short_replies_miss_the_length_target(real_en) -> None:
    short = [
        Dialogue(
            session_id=f"short-{d.session_id}",
            user_id=d.user_id,
            language="en",
            kind="simulated",
            turns=[t.model_copy(update={"response": f"ok {i}"}) for i, t in enumerate(d.turns)],
        )  # fmt: skip
        for d in real_en[:3]
    ]
    en = quality_report(real_en, short, relevance=False).language("en")
    assert en.sim is not None and en.sim.self_repeat == 0.0 and en.sim.mean_length < 5
    assert en.length_w_sigma is not None and en.length_w_sigma > 0.5
    assert en.target("length_w_sigma").passed is False and en.target("self_repeat").passed is True
    assert en.target("relevance").passed is None  # not measured here
    assert not en.passed
    chars = en.style.feature("chars") if en.style else None
    assert chars is not None and chars.wasserstein_norm == en.length_w_sigma


def test_echo_is_counted_turn_by_turn() -> None:
    def turn(i: int, line: str, reply: str) -> TurnRecord:
        return TurnRecord(session_id="s", day=1, idx=i, npc="Leo", message=line, response=reply)

    turns = [
        turn(0, "Party or quiet night?", "Quiet night, with a book."),
        turn(1, "Quiet night, with a BOOK!", "Yes, really."),  # echoes the reply (case, punctuation)
        turn(2, "What would you cook for us?", "Curry, probably."),
        turn(3, "party or quiet night", "Still quiet."),  # repeats the first housemate line
        turn(4, "And on Sunday?", ""),
        turn(5, "And on Sunday?", "Hiking."),  # repeats a line even when no reply came in between
    ]
    assert npc_echo_flags(turns) == [False, True, False, True, False, True]
    replies = ["Sure, why not!", "sure why not", "No.", "Sure — why NOT?"]
    assert self_repeat_rate(replies) == pytest.approx(2 / 4)


def test_repeated_openers_are_counted_within_a_session() -> None:
    replies = [
        "Sure, I'd keep it.",
        "Absolutely! Plan B.",
        "sure... maybe the sofa",
        "I think so",
        "Sure, fine",
    ]
    assert repeated_opener_flags(replies, "en") == [False, False, True, False, True]
    assert repeated_opener_flags(["そうだね、棚かな", "うーん、難しい", "そうだね。ラベルで"], "ja") == [
        False,
        False,
        True,
    ]


def test_replies_starting_like_an_earlier_one_are_counted_within_a_session() -> None:
    replies = ["I'd definitely keep it.", "Plan B.", "I'd DEFINITELY say so!", "I'd rather not", "Ok"]
    assert repeated_start_flags(replies, "en") == [False, False, True, False, False]
    assert repeated_start_flags(["私なら棚かな", "うーん難しい", "私なら、ラベルで"], "ja") == [
        False,
        False,
        True,
    ]
    assert repeated_start_flags(["我觉得可以", "我觉得不行"], "zh") == [False, True]


def test_repeated_clauses_are_counted_within_a_session() -> None:
    replies = [
        "I'd keep it quiet; I care about practicality.",
        "Plan B, I care about practicality!",  # the same clause, other punctuation
        "I think so",  # too short to count
        "I think so, yes",
    ]
    assert repeated_clause_flags(replies, "en") == [False, True, False, False]
    ja = ["私なら静かにする。ボードゲームが好きだから", "みんなで話す、ボードゲームが好きだから"]
    assert repeated_clause_flags(ja, "ja") == [False, True]


def test_a_repeated_clause_is_dropped_with_its_sentence_end_kept() -> None:
    said = clauses("Sure. I care about practicality, really", "en") | clauses(
        "ボードゲームが好きだから", "ja"
    )
    drop = drop_repeated_clauses
    assert drop("I would pick plan A; I care about practicality. Then we eat!", "en", said) == (
        "I would pick plan A. Then we eat!"
    )
    assert drop("I would pick plan A, I care about practicality, and save.", "en", said) == (
        "I would pick plan A, and save."
    )
    assert (
        drop("私なら絶対、みんなに話す。ボードゲームが好きだから", "ja", said) == "私なら絶対、みんなに話す。"
    )
    assert drop("I care about practicality", "en", said) == "I care about practicality"  # nothing left


def test_a_sentence_said_again_in_other_words() -> None:
    """The 1.5B model's Japanese ending every answer with a variant of one sentence (run q-d5-final)
    is found and dropped; a sentence taken from the line it answers, a short one, and an earlier
    reply's topic in new words are not."""
    from sharehouse.realism.quality import repeated_sentence_flags

    earlier = sentences("まず借金を返す。自分自身の成長に繋がります", "ja")
    drop = drop_near_repeated_sentences
    assert (
        drop("棚を決めてラベルを貼る。それが自分自身の成長に繋がりますね", "ja", earlier)
        == "棚を決めてラベルを貼る。"
    )
    assert (
        drop("自分自身の成長に繋がりますね", "ja", earlier) == "自分自身の成長に繋がりますね"
    )  # nothing left
    heard = "それって自分自身の成長に繋がりますか？"
    assert (
        drop("はい、自分自身の成長に繋がりますね。", "ja", earlier, heard)
        == "はい、自分自身の成長に繋がりますね。"
    )
    assert drop("成長かな。", "ja", earlier) == "成長かな。"  # under 8 letters
    assert (
        drop("成長のために新しい料理を習っています。", "ja", earlier)
        == "成長のために新しい料理を習っています。"
    )
    en = sentences("I would save most of it for a house.", "en")
    assert (
        drop("Sure. I'd save most of it for a house, really. Then a trip.", "en", en) == "Sure. Then a trip."
    )
    turns = [
        TurnRecord(session_id="s", day=1, idx=i, npc="Leo", message=m, response=r)
        for i, (m, r) in enumerate(
            [("Q1?", "まず借金を返す。自分自身の成長に繋がります"), ("Q2?", "棚を決める。それが自分自身の成長に繋がりますね"),
             ("Q3?", "")]
        )
    ]  # fmt: skip
    assert repeated_sentence_flags(turns, "ja") == [False, True]


def test_a_phrase_reused_from_an_earlier_reply() -> None:
    """The 1.5B model's Chinese giving one reason in answer after answer (run q-d5-r3) is found and
    its clause dropped, with what is left of its sentence; a phrase the line being answered holds, a
    stock ending of kana and a reply that would be left empty are kept."""
    from sharehouse.realism.quality import reused_phrase_flags

    zh = phrases("我会先做好计划和预算，因为我觉得这样可以避免不必要的麻烦和压力。", "zh")
    assert (
        drop_reused_phrases(
            "我会大家随便共用，不搞规矩。因为我觉得这样可以避免不必要的浪费，真的。", "zh", zh
        )
        == "我会大家随便共用，不搞规矩。"
    )
    heard = "你是不是觉得这样可以避免不必要的麻烦？"
    kept = "对，这样可以避免不必要的麻烦，我喜欢。"
    assert drop_reused_phrases(kept, "zh", zh, heard) == kept
    assert (
        drop_reused_phrases("因为我觉得这样可以避免不必要的浪费。", "zh", zh)
        == "因为我觉得这样可以避免不必要的浪费。"
    )
    ja = phrases("それでいいんじゃないかな、と思います。", "ja")
    assert ja == set()  # kana only: no phrase
    en = phrases("I would keep it secret to preserve my privacy and avoid any trouble.", "en")
    assert (
        drop_reused_phrases(
            "I'd pick Plan B. It helps preserve my privacy and avoid any fuss, honestly.", "en", en
        )
        == "I'd pick Plan B."
    )
    turns = [
        TurnRecord(session_id="s", day=1, idx=i, npc="Leo", message=m, response=r)
        for i, (m, r) in enumerate(
            [("Q1?", "我会先做好计划，因为我觉得这样可以避免不必要的麻烦。"),
             ("Q2?", "随便共用，因为我觉得这样可以避免不必要的浪费。"),
             ("这样可以避免不必要的浪费吗？", "还是可以避免不必要的浪费吧。"),
             ("Q4?", "")]
        )
    ]  # fmt: skip
    assert reused_phrase_flags(turns, "zh") == [False, True, False]


def test_a_housemate_line_that_says_the_reply_back() -> None:
    """Counted on the first sentence only (the scenario's question after it shares the topic), and
    only against the reply just before it on the same day."""
    from sharehouse.realism.quality import npc_restate_flags

    def turn(day: int, idx: int, message: str, response: str) -> TurnRecord:
        return TurnRecord(session_id="s", day=day, idx=idx, npc="米娜", message=message, response=response)

    turns = [
        turn(1, 0, "冰箱怎么用？", "我绝对会冰箱大家随便共用，不搞严格的规矩。"),
        turn(1, 1, "冰箱大家随便共用，不搞规矩，我绝对会。那你周末干嘛？", "去爬山。"),
        turn(1, 2, "真羡慕，我这周天天盯着屏幕。冰箱大家随便共用吗？", "对。"),
        turn(2, 0, "对，大家随便共用冰箱。早上好！", "早。"),
    ]
    assert npc_restate_flags(turns) == [True, False]  # the day-2 line follows no reply of its day


def test_an_opener_is_dropped_only_where_words_remain() -> None:
    assert drop_opener("そうだね、棚を決めたい", "ja") == "棚を決めたい"
    assert drop_opener("sure, lower case stays", "en") == "lower case stays"
    assert drop_opener("Absolutely!", "en") == "Absolutely!"  # nothing would be left
    assert drop_opener("I think so, yes", "en") == "I think so, yes"  # no opener: three words


def test_lines_shared_across_sessions() -> None:
    """A housemate sentence said in another session counts, however it is punctuated; a short
    shared sentence ("What do you think?") and a sentence said twice in one session do not."""

    def dialogue(sid: str, *lines: str) -> Dialogue:
        turns = [
            TurnRecord(session_id=sid, day=1, idx=i, npc="Leo", message=line, response="fine")
            for i, line in enumerate(lines)
        ]
        return Dialogue(session_id=sid, user_id=sid, language="en", kind="simulated", turns=turns)

    a = dialogue("a", "Welcome home! Would you throw a party or keep it quiet?", "What do you think?")
    b = dialogue("b", "Hey. WOULD you throw a party, or keep it quiet", "What do you think?")
    c = dialogue(
        "c", "Dinner plans tonight, anyone cooking curry?", "Dinner plans tonight, anyone cooking curry?"
    )
    assert npc_shared_flags([a, b, c]) == [True, False, True, False, False, False]
    assert npc_shared_flags([c]) == [False, False]


# -- a varied, relevant transcript passes -----------------------------------------------------------


def test_real_people_stored_as_a_run_pass_every_target(store: Store, real_en) -> None:
    persona_id, _ = _en_samples()
    chosen = real_en[:6]
    for d in chosen:
        store.create_session(
            SessionRecord(id=f"v-{d.session_id}", kind="simulated", source="simulate", user_id=d.user_id,
                          language="en", run_id="varied", persona_id=persona_id, status="complete")
        )  # fmt: skip
        insert_turns(
            store,
            [
                t.model_copy(
                    update={
                        "session_id": f"v-{d.session_id}",
                        "verdict": "advance",
                        "check_by": "llm",
                        "model": "local",  # a model wrote each housemate line (none is scripted)
                        "npc_fallback": False,
                        "reply_fallback": False,
                        "npc_rejected": 0,
                        "reply_resampled": 0,
                    }
                )  # fmt: skip
                for t in d.turns
            ],
        )
    sim = store_dialogues(store, run_id="varied")
    assert len(sim) == 6
    report = quality_report(real_en, sim, store=store)
    en = report.language("en")
    assert [t.measure for t in en.targets] == [t.measure for t in TARGETS]
    assert all(t.passed is True for t in en.targets), [t for t in en.targets if not t.passed]
    assert en.sim is not None and en.sim.npc_rejected_per_turn == 0.0 and en.sim.check_llm_share == 1.0
    assert en.sim.followup_rate == 0.0 and en.sim.sample_copies == 0
    assert report.passed


# -- the real people ---------------------------------------------------------------------------------


def _hand_rows(path: Path) -> list[dict[str, str]]:
    data = json.loads(path.read_text(encoding="utf-8"))
    return [turn for day in sorted(data, key=lambda k: int(k.split("_")[1])) for turn in data[day]]


def test_real_numbers_match_a_hand_count(yntp_dir: Path, tmp_path: Path) -> None:
    """cn_7 repeats 合适 and 合理 (2 of 20 replies), cn_17 repeats 是的 (1 of 25), en_1 repeats nothing."""
    sub = tmp_path / "yntp"
    for lang, name in (("cn", "cn_7"), ("cn", "cn_17"), ("en", "en_1")):
        (sub / lang).mkdir(parents=True, exist_ok=True)
        (sub / lang / f"{name}.json").write_bytes((yntp_dir / lang / f"{name}.json").read_bytes())
    dialogues = yntp_dialogues(sub)
    zh = measure_dialogues([d for d in dialogues if d.language == "zh"], "zh", relevance=False)
    en = measure_dialogues([d for d in dialogues if d.language == "en"], "en")
    assert zh.sessions == 2 and zh.replies == 45
    assert zh.self_repeat == pytest.approx((2 / 20 + 1 / 25) / 2)
    assert zh.distinct == pytest.approx((18 / 20 + 24 / 25) / 2)
    assert en.self_repeat == 0.0 and en.distinct == 1.0 and en.npc_echo == 0.0
    rows = {n: _hand_rows(sub / n.split("_")[0] / f"{n}.json") for n in ("cn_7", "cn_17", "en_1")}
    zh_lengths = [len(r["response"].strip()) for n in ("cn_7", "cn_17") for r in rows[n]]
    assert zh.mean_length == pytest.approx(sum(zh_lengths) / len(zh_lengths))
    # relevance by hand: the encoder on each (line, reply) pair, cosine of normalised vectors, mean
    from evaluator.metrics.encoders import get_encoder

    enc = get_encoder("all-MiniLM-L6-v2")
    pairs = [(r["message"], r["response"]) for r in rows["en_1"]]
    a, b = enc.encode([p[0] for p in pairs]), enc.encode([p[1] for p in pairs])
    by_hand = float(
        np.mean([float(x @ y) / (np.linalg.norm(x) * np.linalg.norm(y)) for x, y in zip(a, b, strict=True)])
    )
    assert en.relevance == pytest.approx(by_hand, abs=1e-5)
    # the real side has no engine flags: fallbacks, checks and persona copies are not measurable
    assert (en.npc_fallback, en.followup_rate, en.check_llm_share, en.sample_copies) == (None,) * 4


@pytest.mark.slow
def test_real_people_match_the_spec_table(yntp_dir: Path, store: Store) -> None:
    """All 100 people, every language, against shared/spec/quality.md (multilingual encoder included)."""
    real = yntp_dialogues(yntp_dir)
    for lang, want in SPEC.items():
        got = measure_dialogues([d for d in real if d.language == lang], lang, store=store)
        assert got.self_repeat == pytest.approx(want["self_repeat"], abs=6e-4), lang
        assert got.distinct == pytest.approx(want["distinct"], abs=6e-4), lang
        assert got.mean_length == pytest.approx(want["mean_length"], abs=0.6), lang
        assert got.relevance == pytest.approx(want["relevance"], abs=0.006), lang
        assert got.npc_echo == 0.0, lang
        assert got.npc_shared == pytest.approx(REAL_NPC_SHARED[lang], abs=2e-3), lang
        assert got.repeated_openers == pytest.approx(REAL_REPEATED_OPENERS[lang], abs=2e-3), lang
        assert got.repeated_starts == pytest.approx(REAL_REPEATED_STARTS[lang], abs=6e-4), lang
        assert got.repeated_sentences == pytest.approx(REAL_REPEATED_SENTENCES[lang], abs=6e-4), lang
        assert got.reused_phrases == pytest.approx(REAL_REUSED_PHRASES[lang], abs=6e-4), lang
        assert got.npc_restates_reply == pytest.approx(REAL_NPC_RESTATES[lang], abs=6e-4), lang
        assert got.repeated_clauses == pytest.approx(REAL_REPEATED_CLAUSES[lang], abs=6e-4), lang


# -- the command --------------------------------------------------------------------------------------


async def test_report_quality_command(store: Store, scenario, small_yntp: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from sharehouse.cli import _build

    await _play_repeating_sessions(store, scenario, n=1)
    path = store.path
    store.close()
    out = tmp_path / "q.json"
    result = CliRunner().invoke(
        _build(),
        ["report", "quality", "--run", "repeating", "--languages", "en", "--yntp", str(small_yntp),
         "--json", str(out), "--db", str(path)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "self-repeat of replies" in result.output and "FAIL" in result.output
    data = json.loads(out.read_text(encoding="utf-8"))
    (en,) = data["languages"]
    assert en["language"] == "en" and en["real"]["sessions"] == 10 and en["sim"]["sessions"] == 1
    failed = {t["measure"] for t in en["targets"] if t["passed"] is False}
    assert {"self_repeat", "sample_copies"} <= failed
    missing = CliRunner().invoke(
        _build(), ["report", "quality", "--run", "nope", "--yntp", str(small_yntp), "--db", str(path)]
    )
    assert missing.exit_code == 1 and "no sessions in run nope" in missing.output


def test_fallbacks_count_only_lines_the_model_was_asked_for() -> None:
    """``react``: a day's opening line is the scenario's by design (no model recorded, no fallback)
    and is counted apart; a fallback is a line whose model texts were all rejected."""

    def turn(i: int, model: str | None, fallback: bool) -> TurnRecord:
        return TurnRecord(
            session_id="s", day=1, idx=i, npc="Leo", message=f"Line {i}?", response=f"Reply number {i}.",
            model=model, npc_fallback=fallback,
        )  # fmt: skip

    turns = [turn(0, None, False), turn(1, "local", True), turn(2, "local", False), turn(3, None, False)]
    assert [scripted_line(t) for t in turns] == [True, False, False, True]
    d = Dialogue(session_id="s", user_id="u", language="en", kind="simulated", turns=turns)
    m = measure_dialogues([d], "en", relevance=False)
    assert (m.npc_fallback, m.npc_scripted) == (0.5, 0.5)
    real = TurnRecord(session_id="r", day=1, idx=0, npc="Leo", message="Hi?", response="Hello there.")
    r = measure_dialogues(
        [Dialogue(session_id="r", user_id="r", language="en", turns=[real])], "en", relevance=False
    )
    assert (r.npc_fallback, r.npc_scripted) == (None, None)  # imported people: nothing recorded


def test_replies_that_take_the_other_side_than_their_stance() -> None:
    """A reply nearer the written side its stance took counts as taking it; one nearer the other
    side does not (the label stored with it is wrong); canned fallbacks and turns without a stance
    or without written sides are left out."""
    sides = scenario_sides("en")
    assert set(sides["d1_windfall"]) == {"E", "I"}

    def turn(idx: int, reply: str, letter: str | None, *, fallback: bool = False, state: str = "d1_windfall"):
        stance = json.dumps({"dimension": "E/I", "letter": letter}) if letter else None
        return TurnRecord(
            session_id="s", day=1, idx=idx, npc="Leo", message="Party or secret?", response=reply,
            state_id=state, stance=stance, reply_fallback=fallback,
        )  # fmt: skip

    turns = [
        turn(0, "I'd throw a huge party and invite everyone I know!", "E"),
        turn(1, "Honestly I'd keep it to myself and enjoy it quietly.", "E"),  # the other side
        turn(2, "Quietly, nobody would know.", "I"),
        turn(3, "keep it quiet and enjoy it privately", "E", fallback=True),
        turn(4, "A party, of course.", None),
        turn(5, "A party, of course.", "E", state="d5_farewell"),  # no written sides
    ]
    assert stance_side_flags(turns, "en", sides) == [True, False, True]
    dialogue = Dialogue(session_id="s", user_id="u", language="en", turns=turns)
    measured = measure_dialogues([dialogue], "en", sides=sides)
    assert measured.stance_sides == pytest.approx(2 / 3)
    assert measure_dialogues([dialogue], "en", sides=sides, relevance=False).stance_sides is None


@pytest.mark.parametrize(
    ("lang", "reasons", "none"),
    [
        (
            "en",
            ["I'd save it, because rent is due.", "Since I hate noise, a quiet one."],
            ["A quiet one for me.", "I'd plan it."],
        ),
        (
            "ja",
            ["静かなのが好きだから。", "疲れるので一人がいい", "みんなのためだよ"],
            ["明日から始める", "一人がいい"],
        ),
        ("zh", ["因为我喜欢安静。", "所以我会先存起来"], ["我会先存起来", "从明天开始"]),
    ],
)
def test_replies_giving_a_reason(lang: str, reasons: list[str], none: list[str]) -> None:
    """A reply that says why counts, one that only answers does not, and Japanese から as "from"
    is no reason; the share is over every reply of the language."""
    assert all(gives_reason(r, lang) for r in reasons)
    assert not any(gives_reason(r, lang) for r in none)
    turns = [
        TurnRecord(session_id="s", day=1, idx=i, npc="Leo", message="?", response=r)
        for i, r in enumerate([*reasons, *none])
    ]
    measured = measure_dialogues(
        [Dialogue(session_id="s", user_id="u", language=lang, turns=turns)], lang, relevance=False
    )
    assert measured.reasons == pytest.approx(len(reasons) / (len(reasons) + len(none)))


def test_the_real_people_seldom_give_a_reason_or_open_with_i(yntp_dir: Path) -> None:
    """Measured on all the real YNTP-100 people (the reference a simulator is read against): a
    reason in about one English or Chinese reply in ten, one Japanese reply in four; "I" opening a
    third of the English replies, a quarter of the Chinese and few Japanese ones."""
    dialogues = yntp_dialogues(yntp_dir)
    measured = {
        lang: measure_dialogues([d for d in dialogues if d.language == lang], lang, relevance=False)
        for lang in ("en", "ja", "zh")
    }
    reasons = {lang: m.reasons for lang, m in measured.items()}
    assert reasons == {"en": pytest.approx(0.093, abs=0.01), "ja": pytest.approx(0.233, abs=0.01),
                       "zh": pytest.approx(0.095, abs=0.01)}  # fmt: skip
    opening = {lang: m.opens_with_i for lang, m in measured.items()}
    assert opening == {"en": pytest.approx(0.326, abs=0.01), "ja": pytest.approx(0.079, abs=0.01),
                       "zh": pytest.approx(0.271, abs=0.01)}  # fmt: skip


def test_replies_opening_with_i() -> None:
    """A reply opening with the speaker's "I" counts; "we" and an "I" further in do not."""
    cases = {
        "en": (
            ["I'd save it.", "My mum would laugh.", "I think so"],
            ["We'd save it.", "Idk, saving it", "Sure, I'd save"],
        ),
        "ja": (["私なら貯金する", "僕は静かな方"], ["私たちで決めよう", "静かな方がいい、私は"]),
        "zh": (["我会先存起来", "我觉得安静好"], ["我们一起定规矩", "安静点好，我觉得"]),
    }
    for lang, (opening, other) in cases.items():
        assert all(opens_with_i(r, lang) for r in opening), lang
        assert not any(opens_with_i(r, lang) for r in other), lang
        turns = [
            TurnRecord(session_id="s", day=1, idx=i, npc="Leo", message="?", response=r)
            for i, r in enumerate([*opening, *other])
        ]
        dialogue = Dialogue(session_id="s", user_id="u", language=lang, turns=turns)
        measured = measure_dialogues([dialogue], lang, relevance=False)
        assert measured.opens_with_i == pytest.approx(len(opening) / len(turns))
