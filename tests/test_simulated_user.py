"""The simulated user: stance before wording, no verbatim reuse, stances stored and traits recovered.

Model faults (copies, unusable text) come from scripted models; the session run is real (DuckDB file,
the shipped scenario, the engine) with scripted housemates and judge standing in for the model.
"""

from __future__ import annotations

import dataclasses
import json
from collections import Counter

import pytest

from sharehouse.engine.session import EngineParams, SessionRunner, start_session
from sharehouse.engine.users import PastTurn, TurnContext
from sharehouse.llm.base import Completion, GenParams, Message
from sharehouse.personas import Persona, SimulatedUser, generate_personas
from sharehouse.personas.cleaning import clean_reply, fallback_reply, is_repeat, is_usable, trim_to_length
from sharehouse.personas.models import LengthRange
from sharehouse.personas.stance import (
    MORE_KINDS,
    asked_length,
    asks_back,
    private_note,
    stance_for,
    target_length,
)
from sharehouse.personas.traits import recover_traits, run_stances
from sharehouse.textclean import drop_dangling, drop_reason_lead, opens_with_i


class ScriptedModel:
    """Returns the given texts in order (the last one again when they run out); records requests."""

    name = "scripted"

    def __init__(self, texts: list[str]) -> None:
        self.texts = list(texts)
        self.requests: list[tuple[list[Message], GenParams]] = []

    async def complete(self, messages: list[Message], params: GenParams) -> Completion:
        self.requests.append((messages, params))
        text = self.texts.pop(0) if len(self.texts) > 1 else self.texts[0]
        return Completion(text=text, model=self.name)

    def close(self) -> None: ...


def _persona(lang: str = "en", **style: object) -> Persona:
    """A generated persona; English ones write 5-14 words unless ``reply_length`` is given (the
    generated one writes 29-46, and a reply far under that is resampled as thin)."""
    base = next(p for p in generate_personas(12, seed=3) if p.language == lang)
    if lang == "en":
        style = {"reply_length": LengthRange(min=5, max=14, unit="words"), **style}
    return base.model_copy(update={"style": base.style.model_copy(update=style)})


def _ctx(state: str = "d1_windfall", history: list[PastTurn] | None = None) -> TurnContext:
    return TurnContext(
        language="en",
        day=1,
        npc_name="Leo",
        message="Would you throw a massive party or keep it totally secret?",
        history=history or [],
        state_id=state,
        dimension="E/I",
        poles={"E": "throw a big party and tell lots of people", "I": "keep it quiet and enjoy it privately"},
    )


# -- stance ------------------------------------------------------------------------------------------


def test_stance_is_seeded_per_persona_and_state_and_follows_strength() -> None:
    personas = generate_personas(60, seed=1)
    a = [stance_for(p, "d4_noise", "E/I", {"E": "lively", "I": "quiet"}) for p in personas]
    b = [stance_for(p, "d4_noise", "E/I", {"E": "lively", "I": "quiet"}) for p in personas]
    assert a == b
    assert stance_for(personas[0], "x", "none") is None and stance_for(personas[0], "x", None) is None
    # Over many (persona, state) pairs, the persona's own letter comes up about as often as its strength.
    own = expected = 0.0
    for p in personas:
        for i in range(20):
            s = stance_for(p, f"state{i}", "T/F")
            assert s is not None and s.persona_letter == p.mbti[2] and s.letter in "TF"
            own += s.letter == s.persona_letter
            expected += p.mbti_strength.tf
    assert abs(own - expected) / len(personas) / 20 < 0.05
    assert 0.55 < own / (len(personas) * 20) < 0.95  # not perfectly consistent


def test_stance_text_uses_the_pole_and_gives_a_persona_detail_only_on_topic() -> None:
    for lang in ("en", "ja", "zh"):
        persona = _persona(lang)
        poles = {"J": "POLE-J", "P": "POLE-P"}
        s = stance_for(persona, "d1_plan", "J/P", poles)
        assert s is not None and s.pole == poles[s.letter] and s.pole in s.position
        assert s.reason == ""  # nothing about the persona is on this topic: no pasted non sequitur
        note = private_note(persona, s, 17)
        assert s.position in note and str(asked_length(lang, 17)) in note
        # no persona detail to give: the note asks the reply to add something of its own
        assert s.more in MORE_KINDS[lang] and MORE_KINDS[lang][s.more] in note
        # A side that is about the persona's work brings it up as the reason.
        job = persona.occupation
        on_topic = stance_for(persona, "d1_plan", "J/P", {"J": f"ask a {job}", "P": f"be a {job}"})
        assert on_topic is not None and job in on_topic.reason and on_topic.reason in on_topic.position
        assert on_topic.letter == s.letter  # the side taken does not depend on the reason
        assert on_topic.more == ""
        assert not any(ask in private_note(persona, on_topic, 17) for ask in MORE_KINDS[lang].values())
        # What it adds is drawn per question, not a reason every time (the model gave one to every
        # answer), and the same question draws the same again.
        drawn = [stance_for(persona, f"q{i}", "J/P", poles) for i in range(40)]
        kinds = Counter(d.more for d in drawn if d is not None)
        assert set(kinds) == set(MORE_KINDS[lang])
        assert len(kinds) == 1 or kinds["reason"] < 40 * 0.75
        assert [d.more for d in drawn if d] == [
            d.more for d in (stance_for(persona, f"q{i}", "J/P", poles) for i in range(40)) if d
        ]
    # A Chinese or Japanese position often leaves the speaker unsaid: handed "我会…" every time,
    # the model opened every reply with 我 (the real people: about a quarter of their replies).
    for lang in ("ja", "zh"):
        persona = _persona(lang)
        opened = [stance_for(persona, f"q{i}", "E/I", poles) for i in range(60)]
        share = sum(opens_with_i(s.position, lang) for s in opened if s) / 60
        assert 0.15 < share < 0.6, (lang, share)
    # Without poles of its own, a state still gets a plain-words side.
    s = stance_for(_persona("en"), "custom", "S/N")
    assert s is not None and s.pole and s.pole in s.position


async def test_note_goes_into_the_last_message_only_and_the_examples_are_not_dialogue() -> None:
    persona = _persona("en", typo_rate=0.0)
    model = ScriptedModel(["Honestly I'd keep it quiet, maybe tell my sister and nobody else."])
    user = SimulatedUser(persona, model, seed=1)
    history = [
        PastTurn(
            day=1, npc_name="Mina", message="Hi, settling in?", response="Getting there, boxes everywhere."
        )
    ]
    reply = await user.reply(_ctx(history=history))
    messages = model.requests[0][0]
    assert messages[0]["role"] == "system"
    for ex in persona.style.style_examples:
        assert ex.question in messages[0]["content"] and ex.answer.split("\n")[0] in messages[0]["content"]
    assert [m["content"] for m in messages if m["role"] == "assistant"] == [
        "Getting there, boxes everywhere."
    ]
    assert reply.stance is not None and reply.stance["position"] in messages[-1]["content"]
    assert all(reply.stance["position"] not in m["content"] for m in messages[:-1])


# -- no verbatim reuse -----------------------------------------------------------------------------


async def test_a_copy_of_an_example_or_earlier_reply_is_resampled_and_counted() -> None:
    persona = _persona("en", casing="normal", typo_rate=0.0, emoji_rate=0.0, punctuation="full")
    example = persona.style.style_examples[0].answer
    model = ScriptedModel([example, "I'd keep it quiet and maybe tell my mum."])
    user = SimulatedUser(persona, model, params=GenParams(temperature=0.6, max_tokens=80, seed=5), seed=2)
    reply = await user.reply(_ctx())
    assert reply.text == "I'd keep it quiet and maybe tell my mum." and not reply.fallback
    assert (reply.resampled, user.repeats, user.retries) == (1, 1, 1)
    first, second = model.requests[0][1], model.requests[1][1]
    assert second.temperature > first.temperature and second.seed != first.seed


async def test_an_opener_used_earlier_in_the_session_is_dropped() -> None:
    persona = _persona("en", casing="normal", typo_rate=0.0, emoji_rate=0.0, punctuation="full")
    history = [PastTurn(1, "Leo", "Pizza or sushi?", "Sure, sushi for me.")]
    model = ScriptedModel(["Sure! I'd keep it quiet and tell my mum.", "Sure, big party."])
    user = SimulatedUser(persona, model, params=GenParams(temperature=0.6, max_tokens=80, seed=5), seed=2)
    reply = await user.reply(_ctx(history=history))
    assert reply.text == "I'd keep it quiet and tell my mum." and user.openers_dropped == 1
    # The first "Sure," of a session stays: people open that way too, just not every time.
    fresh = SimulatedUser(persona, ScriptedModel(["Sure, big party for everyone!"]), seed=2)
    assert (await fresh.reply(_ctx())).text == "Sure, big party for everyone!" and fresh.openers_dropped == 0


async def test_a_chinese_reply_opening_as_an_earlier_one_did_is_tried_once_more() -> None:
    """ "我感觉…" after a reply that opened "我感觉…": the first attempt is resampled once and
    counted; the next stands however it opens; when no later attempt passes, the first is kept.
    English replies, which open alike no more often than people's, are not resampled for it."""
    persona = _persona("zh", typo_rate=0.0, emoji_rate=0.0)
    earlier = "我感觉这样挺好的，大家都能放松一点，也不用太紧张。"
    history = [PastTurn(1, "米娜", "今晚吃披萨还是寿司？", earlier)]
    ctx = dataclasses.replace(_ctx(history=history), language="zh", npc_name="利奥")
    alike = "我感觉还是悄悄享受比较好，不想让太多人知道这件事。"
    other = "悄悄享受吧，钱的事不想让太多人知道，自己心里有数就行。"
    user = SimulatedUser(persona, ScriptedModel([alike, other]), seed=2)
    reply = await user.reply(ctx)
    assert reply.text.rstrip("。") == other.rstrip("。") and (reply.resampled, user.restarts) == (1, 1)
    # only the first attempt: a second that opens alike too stands
    second = "我感觉低调一点更自在，找几个好朋友吃顿饭就够了。"
    again = SimulatedUser(persona, ScriptedModel([alike, second]), seed=2)
    assert (await again.reply(ctx)).text.rstrip("。") == second.rstrip("。")
    # the later attempts all copy the session: the first, which only opened alike, is kept
    kept = SimulatedUser(persona, ScriptedModel([alike, earlier]), seed=2)
    assert (await kept.reply(ctx)).text.rstrip("。") == alike.rstrip("。") and kept.restarts == 1
    # the first reply of a session has nothing to open like
    fresh = SimulatedUser(persona, ScriptedModel([alike, other]), seed=2)
    assert (await fresh.reply(dataclasses.replace(ctx, history=[]))).text.rstrip("。") == alike.rstrip("。")
    en = _persona("en", casing="normal", typo_rate=0.0, emoji_rate=0.0, punctuation="full")
    said = [
        PastTurn(1, "Mina", "Pizza or sushi tonight?", "I'd keep it simple, sushi from the corner place.")
    ]
    english = SimulatedUser(en, ScriptedModel(["I'd keep it quiet and maybe tell my mum.", "Quiet."]), seed=2)
    assert (await english.reply(_ctx(history=said))).text.startswith("I'd keep") and english.restarts == 0


async def test_a_clause_said_earlier_is_dropped_and_the_reason_is_not_given_twice() -> None:
    persona = _persona("en", casing="normal", typo_rate=0.0, emoji_rate=0.0, punctuation="full")
    job = persona.occupation
    poles = {"E": f"party like a {job}", "I": f"stay quiet like a {job}"}
    first = stance_for(persona, "d1_windfall", "E/I", poles)
    assert first is not None and job in first.reason
    earlier = f"Honestly, {first.reason}, so a quiet night."
    again = stance_for(persona, "d1_windfall", "E/I", poles, mentioned=[earlier])
    assert again is not None and again.letter == first.letter and again.reason == ""
    history = [PastTurn(1, "Leo", "Pizza or sushi?", earlier, state_id="d1_before")]
    model = ScriptedModel([f"I'd keep it quiet, {first.reason}, and tell my mum."])
    user = SimulatedUser(persona, model, params=GenParams(temperature=0.6, max_tokens=80, seed=5), seed=2)
    reply = await user.reply(_ctx(history=history))
    assert reply.text == "I'd keep it quiet, and tell my mum." and user.clauses_dropped == 1


async def test_a_sentence_said_again_in_other_words_is_dropped_or_resampled() -> None:
    """A reply ending with a variant of an earlier reply's sentence loses that sentence; a reply that
    is nothing but such a variant is resampled."""
    persona = _persona("ja", reply_length=LengthRange(min=10, max=40, unit="chars"), emoji_rate=0.0)
    ctx = TurnContext(
        language="ja", day=2, npc_name="ミナ", message="冷蔵庫、棚を決める？それとも自由に使う？",
        history=[PastTurn(1, "レオ", "宝くじ、どうする？", "まず借金を返します。自分自身の成長に繋がります",
                          state_id="d1_plan")],
        state_id="d2_system", dimension="J/P",
        poles={"J": "棚を決めてラベルを貼る", "P": "決まりを作らずに柔軟に共有する"},
    )  # fmt: skip
    variant = "それが自分自身の成長に繋がりますね。"
    model = ScriptedModel([variant, f"名前を書いた箱を一人一つずつ置きたいです。{variant}"])
    user = SimulatedUser(persona, model, seed=2)
    reply = await user.reply(ctx)
    assert reply.text == "名前を書いた箱を一人一つずつ置きたいです。"
    assert (user.repeats, user.sentences_dropped, reply.resampled) == (1, 1, 1)


async def test_an_attempt_that_only_restates_the_option_or_is_far_too_short_is_resampled() -> None:
    persona = _persona("ja", reply_length=LengthRange(min=30, max=60, unit="chars"), emoji_rate=0.0)
    ctx = TurnContext(
        language="ja",
        day=1,
        npc_name="レオ",
        message="宝くじが当たったら、派手にパーティーする？それとも内緒にする？",
        state_id="d1_windfall",
        dimension="E/I",
        poles={"E": "みんなを呼んで派手に祝う", "I": "誰にも言わずにひっそり楽しむ"},
    )
    stance = stance_for(persona, "d1_windfall", "E/I", ctx.poles)
    assert stance is not None
    option = f"{stance.pole}。"  # the option's own words: says less than a person would
    fuller = f"{stance.pole}かな。家族に仕送りもしたいし、前からそういうのに憧れてたんだよね。"
    model = ScriptedModel([option, "うん。", fuller])
    user = SimulatedUser(persona, model, seed=2)
    reply = await user.reply(ctx)
    assert reply.text.startswith(stance.pole) and "仕送り" in reply.text
    assert (reply.resampled, user.thin, user.retries, user.fallbacks) == (2, 2, 2, 0)
    # When every attempt is thin, the fullest of them is kept rather than a canned fallback, and
    # asked once to go on; a continuation that only names the option again is not added.
    again = SimulatedUser(persona, ScriptedModel(["うん。", option, "うん、そうする。", option]), seed=2)
    kept = await again.reply(ctx)
    assert not kept.fallback and kept.text == stance.pole  # the persona ends without a stop
    assert (again.thin, again.extended, again.calls) == (3, 0, 4)


async def test_a_reply_that_only_names_the_option_goes_on_with_what_lies_behind_it() -> None:
    persona = _persona("ja", reply_length=LengthRange(min=30, max=60, unit="chars"), emoji_rate=0.0)
    ctx = TurnContext(
        language="ja", day=1, npc_name="レオ", message="宝くじが当たったら、派手にパーティーする？それとも内緒にする？",
        state_id="d1_windfall", dimension="E/I", poles={"E": "みんなを呼んで派手に祝う", "I": "誰にも言わずにひっそり楽しむ"},
    )  # fmt: skip
    stance = stance_for(persona, "d1_windfall", "E/I", ctx.poles)
    assert stance is not None
    more = "前にボーナスが出た時もそうしたけど、それでよかったと思ってるんだよね"

    class Counted(ScriptedModel):
        async def complete(self, messages: list[Message], params: GenParams) -> Completion:
            done = await super().complete(messages, params)
            return Completion(
                text=done.text, model=self.name, prompt_tokens=100, completion_tokens=10, latency_s=1.0
            )

    model = Counted([stance.pole, "うん。", f"{stance.pole}かな", more])
    user = SimulatedUser(persona, model, seed=2)
    reply = await user.reply(ctx)
    assert reply.text == f"{stance.pole}かな。{more}"  # the persona ends without a stop
    assert (user.thin, user.extended, user.calls, user.fallbacks) == (3, 1, 4, 0)
    asked, _ = model.requests[-1]  # the thin reply went back as said, with the note to go on
    assert asked[-2] == {"role": "assistant", "content": f"{stance.pole}かな"}
    assert asked[-1]["role"] == "user" and "今言ったことの続き" in asked[-1]["content"]
    assert reply.completion is not None and reply.completion.completion_tokens == 20  # both calls counted
    assert reply.completion.latency_s == 2.0


async def test_a_copy_is_never_kept_the_fallback_states_the_stance() -> None:
    persona = _persona("en", casing="normal", typo_rate=0.0, emoji_rate=0.0, punctuation="full")
    earlier = "Grabbing dinner with friends tonight, it should be fun."
    history = [PastTurn(day=1, npc_name="Mina", message="Plans?", response=earlier)]
    model = ScriptedModel([earlier, earlier.upper(), earlier + "!"])
    user = SimulatedUser(persona, model, seed=2)
    reply = await user.reply(_ctx(history=history))
    assert reply.fallback and reply.completion is None and reply.resampled == 3
    assert len(model.requests) == 3 and user.repeats == 3 and user.fallbacks == 1
    assert reply.stance is not None and reply.stance["pole"] in reply.text
    assert not is_repeat(reply.text, [earlier])


async def test_a_sentence_a_housemate_said_is_no_reply() -> None:
    """Run q-d5-r8: the 1.5B model answered day 4 with a housemate's reaction of day 3 word for word
    (and in q-d5-r9 with a two-sentence reaction). Both are resampled like a copy of an earlier
    reply."""
    persona = _persona("en", casing="normal", typo_rate=0.0, emoji_rate=0.0, punctuation="full")
    reaction = "When we did that, the whole house looked so much better."
    line = f"Thanks a lot. {reaction} Plans for tonight?"
    history = [PastTurn(day=1, npc_name="Mina", message=line, response="Staying in, I'm tired.")]
    fresh = "I'd keep it quiet, maybe tell my sister and nobody else."
    model = ScriptedModel([reaction, f"Thanks a lot. {reaction}", fresh])
    user = SimulatedUser(persona, model, seed=2)
    reply = await user.reply(_ctx(history=history))
    assert reply.text == fresh and reply.resampled == 2 and user.repeats == 2


async def test_a_near_copy_is_kept_only_when_it_is_the_least_similar_and_not_a_copy() -> None:
    persona = _persona("en", casing="normal", typo_rate=0.0, emoji_rate=0.0, punctuation="full")
    earlier = "We could split the chores by day of the week and rotate them"
    history = [PastTurn(day=1, npc_name="Mina", message="Chores?", response=earlier)]
    near = "We could split chores by day of the week and swap monthly"  # near (0.81), not a copy
    model = ScriptedModel([earlier, near, earlier])
    reply = await SimulatedUser(persona, model, seed=2).reply(_ctx(history=history))
    assert reply.text == near and not reply.fallback and reply.resampled == 3


def test_fallback_replies_rotate_and_never_repeat_previous() -> None:
    for lang in ("en", "ja", "zh"):
        persona = _persona(lang)
        pole = {"en": "keep it quiet", "ja": "内緒にする", "zh": "悄悄享受"}[lang]
        texts = [fallback_reply(persona, i, pole) for i in range(3)]
        assert len(set(texts)) == 3 and all(pole in t and is_usable(t, lang) for t in texts)
        assert fallback_reply(persona, 0, pole, previous=[texts[0]]) != texts[0]
        assert is_usable(fallback_reply(persona, 0, None), lang)


# -- a real session: stances stored, stable on follow-ups, traits recovered -------------------------


class _Judge:
    """Says 'not answered' to the first reply on each question, then 'answered' (forces follow-ups)."""

    name = "scripted:judge"

    def __init__(self) -> None:
        self.calls = 0

    async def complete(self, messages: list[Message], params: GenParams) -> Completion:
        self.calls += 1
        answered = self.calls % 2 == 0
        return Completion(text=json.dumps({"reason": "states a side", "answered": answered}), model=self.name)

    def close(self) -> None: ...


class _Speaker:
    """A distinct, usable line on every call (the user's replies; the housemates' lines)."""

    name = "scripted:speaker"

    def __init__(self) -> None:
        self.n = 0

    async def complete(self, messages: list[Message], params: GenParams) -> Completion:
        self.n += 1
        words = ["apples", "rivers", "lanterns", "violins", "meadows", "kettles", "comets", "harbours"]
        return Completion(
            text=f"I think {words[self.n % 8]} number {self.n} settle it for me?", model=self.name
        )

    def close(self) -> None: ...


@pytest.mark.parametrize("lang", ["en", "ja"])
async def test_stances_are_stored_stable_on_follow_ups_and_recover_the_type(store, scenario, lang) -> None:
    persona = next(p for p in generate_personas(6, seed=0) if p.language == lang)
    if lang == "ja":  # a Japanese persona needs Japanese text from its model
        speaker = ScriptedModel([f"{i}番目の答えだけど、私はやっぱり静かな方がいいかな。" for i in range(80)])
    else:
        speaker = _Speaker()
    rec = start_session(
        store, scenario, kind="simulated", source="simulate", user_id=persona.id, language=lang,
        persona_id=persona.id, run_id="r1",
    )  # fmt: skip
    runner = SessionRunner(
        store, scenario, rec.id, npc_model=_Speaker(), check_model=_Judge(),
        user=SimulatedUser(persona, speaker, seed=0), params=EngineParams(seed=0),
    )  # fmt: skip
    await runner.run()
    turns = store.load_turns(rec.id)
    by_state: dict[str, set[str]] = {}
    for t in turns:
        state = scenario.state(t.state_id)
        if state.mbti == "none":
            assert t.stance is None
            continue
        assert t.stance is not None and t.reply_resampled is not None
        stance = json.loads(t.stance)
        assert stance["dimension"] == state.mbti and stance["letter"] in state.mbti
        assert stance["pole"] == state.poles[stance["letter"]].get(lang)
        by_state.setdefault(t.state_id, set()).add(t.stance)
    assert any(t.is_followup for t in turns)
    assert all(len(v) == 1 for v in by_state.values()), "a follow-up changed the stance"

    report = recover_traits(run_stances(store, "r1"), {persona.id: persona})
    (traits,) = report.personas
    votes = Counter()
    for _, state in scenario.ordered_states():
        s = stance_for(persona, state.id, state.mbti)
        if s is not None:
            votes[s.letter] += 1
    for dim, got in zip(("E/I", "S/N", "T/F", "J/P"), traits.recovered, strict=True):
        a, b = dim.split("/")
        want = a if votes[a] > votes[b] else (b if votes[b] > votes[a] else "?")
        assert got == want, (dim, votes)
    hit, total = report.agreement(lang)
    assert total == 4 and hit == sum(traits.matches)


def test_trait_report_counts_ties_as_unresolved() -> None:
    persona = generate_personas(1, seed=0)[0]
    e, i = "E", "I"
    rows = [{"dimension": "E/I", "letter": e}, {"dimension": "E/I", "letter": i}]
    rows += [{"dimension": "S/N", "letter": persona.mbti[1]}] * 3
    report = recover_traits({persona.id: rows, "p-en-999": rows}, {persona.id: persona})
    (traits,) = report.personas
    assert traits.recovered[0] == "?" and traits.recovered[1] == persona.mbti[1]
    assert traits.recovered[2:] == "??"
    assert report.agreement() == (1, 4)
    assert report.to_json()["by_dimension"]["S/N"] == 1.0


# -- the scenario's poles ------------------------------------------------------------------------------


def test_every_probing_state_of_the_shipped_scenario_has_poles_in_every_language(scenario) -> None:
    for _, state in scenario.ordered_states():
        if state.mbti == "none":
            assert state.poles is None
            continue
        assert state.poles is not None and set(state.poles) == set(state.mbti.split("/"))
        for lang in ("en", "ja", "zh"):
            texts = [state.poles[letter].get(lang) for letter in state.mbti.split("/")]
            assert all(texts) and texts[0] != texts[1]


def test_poles_are_validated_and_left_out_of_the_content_hash(scenario) -> None:
    from sharehouse.scenario.load import ScenarioError, parse_scenario

    data = scenario.model_dump(mode="json")
    bare = json.loads(json.dumps(data))
    for day in bare["days"]:
        for state in day["states"]:
            state["poles"] = None
    assert parse_scenario(bare).content_hash() == scenario.content_hash()
    state = data["days"][0]["states"][0]
    state["poles"] = {"E": state["poles"]["E"], "X": state["poles"]["I"]}
    data["days"][0]["states"][1]["poles"] = None
    data["days"][4]["states"][-1]["poles"] = {"E": state["poles"]["E"], "I": state["poles"]["E"]}
    with pytest.raises(ScenarioError) as err:
        parse_scenario(data)
    text = str(err.value)
    assert "days[0].states[0]" in text and "E/I" in text
    assert "days[4].states" in text and "'none'" in text


def test_an_echoed_private_note_is_cut_from_the_reply() -> None:
    from sharehouse.personas.cleaning import clean_reply

    zh = _persona("zh", line_breaks="never", punctuation="full", emoji_rate=0.0)
    raw = "我觉得悄悄享受就好。作为书店店员，我就是这么看的。用你自己的话说，大约61个字。"
    assert clean_reply(raw, zh) == "我觉得悄悄享受就好。作为书店店员，我就是这么看的。"
    en = _persona("en", casing="normal", punctuation="full", emoji_rate=0.0, line_breaks="never")
    assert clean_reply("I'd keep it quiet. Say it your way, about 20 words.", en) == "I'd keep it quiet."
    # the note that asks a thin reply to go on, parroted (seen in a run of the local model)
    ja = _persona("ja", punctuation="full", emoji_rate=0.0, line_breaks="never")
    raw = "私なら絶対、みんなの前でオープンに話す。なぜそう思うのか、なぜ思ったようになった自分の出来事を"
    assert clean_reply(raw, ja) == "私なら絶対、みんなの前でオープンに話す。"
    # what the note asks a reply to add, said back
    raw = "我会先还贷款。说说你实际会怎么做：先存一笔钱。"
    assert clean_reply(raw, zh) == "我会先还贷款。"


# -- what a small model leaves behind --------------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "raw", "kept"),
    [
        ("ja", "借金の返済に使う。理由は。。。", "借金の返済に使う。"),
        ("ja", "その時々で決めていきます。理由は。。。そこで", "その時々で決めていきます。"),
        ("ja", "棚を決めて、ラベルを貼る、その理由は", "棚を決めて、ラベルを貼る"),
        ("ja", "楽しいんだって", "楽しいんだって"),  # a quotative, not a hanging "because"
        ("zh", "我会先存起来，因为", "我会先存起来"),
        ("en", "I'd plan it first, because...", "I'd plan it first"),
        ("en", "whatever I like", "whatever I like"),
        ("ja", "理由は", "理由は"),  # nothing would be left: unchanged
        ("ja", "他の人も喜ぶためです。だから", "他の人も喜ぶためです。"),  # a sentence begun and left
        ("ja", "みんなが好きだから", "みんなが好きだから"),  # "because I like them": a whole reply
    ],
)
def test_a_hanging_connective_is_cut(lang: str, raw: str, kept: str) -> None:
    assert drop_dangling(raw, lang) == kept


@pytest.mark.parametrize(
    ("lang", "raw", "kept"),
    [
        ("ja", "こっそり話す。理由は、そのほうが相手も楽だから", "こっそり話す。そのほうが相手も楽だから"),
        ("ja", "その理由は、予算オーバーだから", "予算オーバーだから"),
        ("ja", "棚を決める。理由: 誰のものか一目でわかる", "棚を決める。誰のものか一目でわかる"),
        ("zh", "我会定规矩。理由：大家都方便", "我会定规矩。大家都方便"),
        ("zh", "我选共用。我的生活例子是，我和朋友合租时就这样", "我选共用。我和朋友合租时就这样"),
        ("en", "I'd share. An example from my life: my old flat did it.", "I'd share. My old flat did it."),
        ("zh", "我会存起来。理由是，钱要花在刀刃上", "我会存起来。钱要花在刀刃上"),
        ("en", "I'd save it. The reason is that rent is due.", "I'd save it. Rent is due."),
        ("ja", "そういう理由は特にない", "そういう理由は特にない"),  # not opening a sentence
    ],
)
def test_a_formulaic_reason_lead_is_cut(lang: str, raw: str, kept: str) -> None:
    assert drop_reason_lead(raw, lang) == kept


def test_clean_reply_cuts_the_hanging_connective_and_the_reason_formula() -> None:
    persona = _persona("ja", punctuation="full", emoji_rate=0.0, line_breaks="never")
    raw = "二人きりのときにこっそり話す。理由は、相手も気まずくないから。理由は。。。"
    assert clean_reply(raw, persona) == "二人きりのときにこっそり話す。相手も気まずくないから。"
    # A sentence that echoes what the private note asks for is dropped.
    echo = "こっそり話す。これは自分の経験や具体的な例で説明します：友達に言われた。"
    assert clean_reply(echo, persona) == "こっそり話す。"


def test_a_reply_far_over_the_aimed_length_ends_after_its_first_sentences() -> None:
    long_zh = (
        "我会先把钱存起来。以后买房用。因为我觉得这样更稳妥，也能避免不必要的消费，还能给家人一些安全感。"
    )
    assert trim_to_length(long_zh, "zh", 10) == "我会先把钱存起来。"
    assert trim_to_length(long_zh, "zh", 12) == "我会先把钱存起来。以后买房用。"
    assert trim_to_length(long_zh, "zh", 40) == long_zh  # not far over: unchanged
    # Chinese ends sooner (1.5 times the aim, run q-d5-r8), Japanese at twice it
    assert trim_to_length(long_zh, "zh", 30) == "我会先把钱存起来。以后买房用。"
    long_ja = "まず貯金する。家を買いたいから。それに、無駄遣いはしたくないし、家族にも安心してほしい。"
    assert trim_to_length(long_ja, "ja", 26) == long_ja
    assert (
        trim_to_length(long_ja, "ja", 20).startswith("まず貯金する。")
        and len(trim_to_length(long_ja, "ja", 20)) < 20
    )
    en = "I'd save it. Rent is due soon. Also my car needs work and I want to travel later this year."
    assert trim_to_length(en, "en", 6) == "I'd save it. Rent is due soon."


async def test_the_simulated_user_trims_a_long_reply_but_not_into_the_bare_option() -> None:
    persona = _persona("en", casing="normal", typo_rate=0.0, emoji_rate=0.0, punctuation="full")
    aim = target_length(persona, "d1_windfall", 0)
    first = "I'd keep it quiet and tell only my mum."

    def long_reply(opening: str) -> str:  # over twice the aimed length, under the cleaner's cap
        words = 2 * aim + 1 - len(opening.split())
        return f"{opening} Also {' '.join(['really'] * (words - 2))} Portugal."

    assert 2 * aim < len(long_reply(first).split()) <= 2 * persona.style.reply_length.max
    user = SimulatedUser(persona, ScriptedModel([long_reply(first)]), seed=2)
    reply = await user.reply(_ctx())
    assert reply.text == first and user.trimmed == 1
    # Trimming that would leave only the option's words is not done.
    stance = stance_for(persona, "d1_windfall", "E/I", _ctx().poles)
    assert stance is not None
    option = f"{stance.pole[0].upper()}{stance.pole[1:]}."
    bare = SimulatedUser(persona, ScriptedModel([long_reply(option)]), seed=2)
    kept = await bare.reply(_ctx())
    assert kept.text.endswith("Portugal.") and bare.trimmed == 0


def test_a_reply_asks_back_at_the_personas_rate_and_the_request_is_never_sent() -> None:
    for lang in ("en", "ja", "zh"):
        persona = _persona(lang)
        for rate in (0.0, 0.25):
            persona = persona.model_copy(
                update={"style": persona.style.model_copy(update={"question_rate": rate})}
            )
            asked = sum(asks_back(persona, f"state{i}", i % 7) for i in range(400)) / 400
            assert abs(asked - rate) < 0.06, (lang, rate, asked)
        plain = private_note(persona, None, 30)
        asking = private_note(persona, None, 30, ask_back=True)
        assert asking != plain and asking[-1] == plain[-1]  # the request sits inside the note
        request = asking[len(plain) - 1 : -1].strip("。 ")
        # Parroted in the reply, the request is cut like the rest of the note.
        said = {"en": "I'd go for it.", "ja": "自分なら行くかな。", "zh": "我会去的。"}[lang]
        assert clean_reply(f"{said} {request}", persona).rstrip("。.") == said.rstrip("。.")


def test_a_firm_personas_positions_do_not_all_open_alike() -> None:
    # One wording per degree made the model open every reply the same way ("I'd definitely ...").
    for lang in ("en", "ja", "zh"):
        persona = _persona(lang)
        persona = persona.model_copy(
            update={"mbti_strength": persona.mbti_strength.model_copy(update={"jp": 0.95})}
        )
        openings = set()
        for i in range(12):
            s = stance_for(persona, f"q{i}", "J/P", {"J": "POLE-J", "P": "POLE-P"})
            assert s is not None
            openings.add(s.position.split("POLE-")[0])
        assert len(openings) >= 3, (lang, openings)


def test_slips_come_at_the_personas_rate_and_stay_one_edit_from_the_word() -> None:
    import random

    from sharehouse.personas.cleaning import add_typos

    words = ["because", "kitchen", "together", "probably", "weekend", "shelves"] * 500
    out = add_typos(" ".join(words), 0.03, random.Random(1)).split(" ")
    assert len(out) == len(words)
    slipped = [(a, b) for a, b in zip(words, out, strict=True) if a != b]
    assert 0.02 < len(slipped) / len(words) < 0.04
    kinds = {len(b) - len(a) for a, b in slipped}
    assert kinds == {-1, 0, 1}  # dropped, swapped and doubled letters all occur
    assert all(a[0] == b[0] for a, b in slipped)
    assert add_typos("I'd go.", 0.0, random.Random(1)) == "I'd go."


@pytest.mark.parametrize("lang", ["en", "ja", "zh"])
def test_a_stance_does_not_open_like_an_earlier_reply_while_another_wording_is_left(lang: str) -> None:
    """The model opens as the stance's position does: a position is worded so that it starts unlike
    every earlier reply of the session while such a wording is left (the same persona and state
    without that history may well open alike)."""
    from sharehouse.textclean import start

    persona = _persona(lang)
    said: list[str] = []
    for i, dimension in enumerate(["E/I", "S/N", "T/F", "J/P", "E/I"]):
        stance = stance_for(persona, f"s{i}", dimension, mentioned=said)
        assert stance is not None
        assert start(stance.position, lang) not in {start(text, lang) for text in said}
        said.append(stance.position)
    # the same question and history give the same wording (seeded)
    again = stance_for(persona, "s4", "E/I", mentioned=said[:4])
    assert again is not None and again.position == said[4]


def test_a_reply_never_names_a_personality_type() -> None:
    """The prompt tells the model the persona's type; a sentence naming one is dropped, and a reply
    that only names it is left empty (unusable, so it is resampled)."""
    persona = _persona("en", casing="normal", typo_rate=0.0, emoji_rate=0.0, punctuation="full")
    said = clean_reply(f"I'm an {persona.mbti}, so I love a crowd. Big party for sure!", persona)
    assert said == "Big party for sure!"
    assert clean_reply("As an MBTI extravert I'd party.", persona) == ""
    assert not is_usable(clean_reply(f"{persona.mbti} here.", persona), "en")
    zh = _persona("zh")
    assert (
        clean_reply(f"我是{zh.mbti}，喜欢安静。我会悄悄地过。", zh).rstrip("。") == "我会悄悄地过"
    )  # its style may drop the 。


def test_a_japanese_reply_loses_a_stray_closing_mark_and_a_doubled_first_person() -> None:
    """Seen in run q-d5-r5: "」 友達との…" and "私は私ならもちろん…"."""
    ja = _persona("ja")
    assert clean_reply("」 友達とのコミュニケーションは大切です。", ja).startswith("友達との")
    assert clean_reply("私は私ならもちろんみんなの前で話す", ja).startswith("私ならもちろん")
    assert clean_reply("私はね", ja).startswith("私はね")  # nothing to say without it


def test_an_assistants_offer_of_help_is_no_part_of_a_reply() -> None:
    """Run q-d5-r8: "…時間を過ごしています。何か他に助けることがあればどうぞ教えてください" from the 1.5B
    model as a Japanese persona; no real reply offers help so."""
    ja = _persona("ja")
    text = "レオも気に入っていました。何か他に助けることがあればどうぞ教えてください"
    cleaned = clean_reply(text, ja)
    assert cleaned.startswith("レオも気に入っていました") and "教えて" not in cleaned
    assert clean_reply("おはよう、何かお手伝いできることがあれば教えてください", ja) == ""
    assert clean_reply("静かな方がいいです。ご希望のことをお知らせください", ja).startswith(
        "静かな方がいいです"
    )
    assert "お知らせ" not in clean_reply("静かな方がいいです。ご希望のことをお知らせください", ja)
    en = _persona("en", casing="normal", typo_rate=0.0, emoji_rate=0.0, punctuation="full")
    offered = "I'd keep it quiet. Let me know if you need anything else!"
    assert clean_reply(offered, en) == "I'd keep it quiet."
    assert clean_reply("I can help you carry the boxes up.", en) == "I can help you carry the boxes up."


def test_a_japanese_reply_leaves_the_speaker_unsaid() -> None:
    """About half the 1.5B model's Japanese replies opened "私は…" (run q-d5-r8); 20 of the 658 real
    ones open on a first person as the topic."""
    ja = _persona("ja")
    assert clean_reply("私は計画と予算を立てるようにしています", ja).startswith("計画と予算を")
    assert clean_reply("僕は、静かな家の方が落ち着く", ja).startswith("静かな家の方が")
    assert clean_reply("私ならきちんと計画を立てる", ja).startswith("私なら")  # a condition, not a topic
    assert clean_reply("私たちはみんなで決めればいいと思う", ja).startswith("私たちは")


def test_a_day_marker_is_markup_not_a_reply() -> None:
    """ "1日目:" (the 0.5B model's whole reply, three times in one day-1 run) is left empty, so it is
    resampled; a marker before a reply is dropped, and a sentence about a day is kept."""
    ja = _persona("ja")
    assert clean_reply("1日目:", ja) == "" and not is_usable(clean_reply("1日目:", ja), "ja")
    assert clean_reply("1日目は楽しかった", ja).startswith("1日目は楽しかった")
    en = _persona("en", casing="normal", typo_rate=0.0, emoji_rate=0.0, punctuation="full")
    assert clean_reply("Day 1, Morning: I'd keep it quiet.", en) == "I'd keep it quiet."
    assert clean_reply("Day one was fun.", en) == "Day one was fun."
    zh = _persona("zh")
    assert clean_reply("第1天：我会悄悄地过。", zh).startswith("我会悄悄地过")


#: per side of d1_windfall: a reply on that side in other words than its pole
_SIDE_REPLIES = {
    "E": "A huge party for sure, I'd invite everyone and celebrate loudly.",
    "I": "I'd keep it a secret and enjoy the money by myself.",
}


async def test_an_attempt_nearer_the_side_its_stance_did_not_take_is_resampled() -> None:
    """With the relevance gate's encoder as the meter, an attempt that says the other side is
    resampled and counted; if every attempt does, the one least against the stance is kept, not a
    canned reply. Without a meter the first attempt stands."""
    from sharehouse.engine.relevance import RelevanceGate

    persona, ctx = _persona("en"), _ctx()
    stance = stance_for(persona, "d1_windfall", "E/I", ctx.poles)
    assert stance is not None
    own, other = _SIDE_REPLIES[stance.letter], next(t for k, t in _SIDE_REPLIES.items() if k != stance.letter)
    gate = RelevanceGate()
    assert (
        gate.side_margin(own, ctx.poles[stance.letter], ctx.poles["E" if stance.letter == "I" else "I"], "en")
        > 0
    )

    user = SimulatedUser(persona, ScriptedModel([other, own]), seed=0, sides=gate)
    reply = await user.reply(ctx)
    assert reply.text.rstrip(".") == own.rstrip(".") and (reply.resampled, user.against) == (1, 1)

    stubborn = SimulatedUser(persona, ScriptedModel([other]), seed=0, sides=gate)
    kept = await stubborn.reply(ctx)
    assert not kept.fallback and kept.text.rstrip(".") == other.rstrip(".") and stubborn.against == 3

    unmetered = SimulatedUser(persona, ScriptedModel([other, own]), seed=0)
    assert (await unmetered.reply(ctx)).text.rstrip(".") == other.rstrip(".")
