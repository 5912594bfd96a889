"""Personas: generation, files, prompts, output cleaning and the simulated user."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sharehouse.cli_personas import app
from sharehouse.engine.users import PastTurn, TurnContext, User
from sharehouse.llm.base import Completion, GenParams, Message
from sharehouse.personas import (
    MBTI_TYPES,
    Persona,
    PersonaFileError,
    SimulatedUser,
    default_personas_path,
    generate_personas,
    load_personas,
    persona_prompt,
    write_personas_jsonl,
)
from sharehouse.personas.cleaning import clean_reply, is_usable
from sharehouse.personas.models import LengthRange
from sharehouse.personas.prompt import build_messages, history_window, reminder, system_prompt

KANA = re.compile(r"[\u3040-\u30ff]")
CJK = re.compile(r"[\u4e00-\u9fff]")


def _persona(lang: str, **style: object) -> Persona:
    """The first generated persona of a language with some style fields overridden."""
    base = next(p for p in generate_personas(12, seed=3) if p.language == lang)
    return base.model_copy(update={"style": base.style.model_copy(update=style)})


# -- generation -------------------------------------------------------------------------------


def test_sixteen_personas_cover_every_mbti_type_once() -> None:
    personas = generate_personas(16, seed=5)
    assert sorted(p.mbti for p in personas) == sorted(MBTI_TYPES)


def test_languages_balanced_and_all_types_covered_for_100() -> None:
    personas = generate_personas(100, seed=11)
    langs = Counter(p.language for p in personas)
    assert set(langs) == {"en", "ja", "zh"}
    assert max(langs.values()) - min(langs.values()) <= 1
    types = Counter(p.mbti for p in personas)
    assert set(types) == set(MBTI_TYPES)
    assert max(types.values()) - min(types.values()) <= 1
    assert len({p.id for p in personas}) == 100
    assert len({p.name for p in personas}) == 100


def test_generation_is_varied() -> None:
    personas = generate_personas(100, seed=0)
    assert len({p.occupation for p in personas}) >= 40
    assert max(p.age for p in personas) - min(p.age for p in personas) >= 35
    for field in ("elaboration", "formality", "punctuation", "line_breaks"):
        assert len({getattr(p.style, field) for p in personas}) >= 3, field
    assert {p.style.casing for p in personas if p.language == "en"} == {"lower", "normal"}
    assert len({p.style.first_person for p in personas if p.language == "ja"}) >= 3


def test_same_seed_same_output_different_seed_different_output() -> None:
    a = [p.model_dump() for p in generate_personas(30, seed=7)]
    b = [p.model_dump() for p in generate_personas(30, seed=7)]
    c = [p.model_dump() for p in generate_personas(30, seed=8)]
    assert a == b
    assert a != c


def test_single_language_generation_and_ids() -> None:
    personas = generate_personas(5, seed=1, languages=("ja",))
    assert [p.id for p in personas] == [f"p-ja-{i:03d}" for i in range(1, 6)]
    for p in personas:
        assert p.style.reply_length.unit == "chars"
        assert p.style.first_person
        assert all(KANA.search(s) or CJK.search(s) for s in p.style.example_texts())


def test_bad_generation_arguments() -> None:
    with pytest.raises(ValueError, match="languages"):
        generate_personas(3, languages=("fr",))
    with pytest.raises(ValueError, match="n must be"):
        generate_personas(-1)


def test_lower_case_persona_samples_are_lower_case() -> None:
    lower = [p for p in generate_personas(100, seed=0) if p.style.casing == "lower"]
    assert lower
    for p in lower:
        assert all(s == s.lower() for s in p.style.example_texts())


# -- files --------------------------------------------------------------------------------------


def test_style_examples_answer_varied_everyday_questions_in_the_persona_length() -> None:
    from sharehouse.personas.cleaning import measure

    personas = generate_personas(100, seed=0)
    for p in personas:
        examples = p.style.style_examples
        assert len(examples) == 3 and not p.style.sample_replies
        assert len({ex.question for ex in examples}) == 3
        rl = p.style.reply_length
        for ex in examples:
            assert measure(ex.answer, p.language) <= 1.6 * rl.max + 8, (p.id, ex.answer)
    # Across the set, the examples are not a handful of catchphrases.
    answers = [ex.answer for p in personas for ex in p.style.style_examples]
    assert len(set(answers)) >= 0.8 * len(answers)


def test_old_persona_files_with_sample_replies_still_load(tmp_path: Path) -> None:
    row = _lines(1)[0]
    del row["style"]["style_examples"], row["style"]["question_rate"]
    row["style"]["sample_replies"] = ["sure", "sounds fun"]
    path = _write(tmp_path, [json.dumps(row, ensure_ascii=False)])
    (persona,) = load_personas(path)
    assert persona.style.example_texts() == ["sure", "sounds fun"]
    assert "sounds fun" in system_prompt(persona)
    row["style"]["sample_replies"] = ["only one"]
    with pytest.raises(PersonaFileError, match="at least two"):
        load_personas(_write(tmp_path, [json.dumps(row, ensure_ascii=False)]))


def test_shipped_default_file_has_100_personas_matching_seed_0() -> None:
    path = default_personas_path()
    assert path.name == "default_personas.jsonl" and path.parent.name == "data"
    personas = load_personas(path)
    assert len(personas) == 100
    assert [p.model_dump() for p in personas] == [p.model_dump() for p in generate_personas(100, seed=0)]


def test_write_and_load_roundtrip(tmp_path: Path) -> None:
    personas = generate_personas(9, seed=2)
    path = write_personas_jsonl(tmp_path / "sub" / "p.jsonl", personas)
    assert load_personas(path) == personas
    assert "\\u" not in path.read_text(encoding="utf-8")  # Japanese/Chinese kept readable


def _lines(n: int = 4) -> list[dict]:
    return [p.model_dump(mode="json") for p in generate_personas(n, seed=4)]


def _write(tmp_path: Path, rows: list[str]) -> Path:
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_bad_json_names_file_and_line(tmp_path: Path) -> None:
    rows = [json.dumps(r, ensure_ascii=False) for r in _lines()]
    rows[2] = rows[2][:-5]
    path = _write(tmp_path, rows)
    with pytest.raises(PersonaFileError) as err:
        load_personas(path)
    assert err.value.line == 3
    assert str(path) in str(err.value) and "line 3" in str(err.value) and "invalid JSON" in str(err.value)


def test_missing_field_names_line_and_field(tmp_path: Path) -> None:
    rows = _lines()
    del rows[1]["age"]
    path = _write(tmp_path, [json.dumps(r, ensure_ascii=False) for r in rows])
    with pytest.raises(PersonaFileError) as err:
        load_personas(path)
    assert (err.value.line, err.value.field) == (2, "age")
    assert "line 2" in str(err.value) and "'age'" in str(err.value)


def test_wrong_type_names_nested_field(tmp_path: Path) -> None:
    rows = _lines()
    rows[0]["style"]["emoji_rate"] = "lots"
    path = _write(tmp_path, [json.dumps(r, ensure_ascii=False) for r in rows])
    with pytest.raises(PersonaFileError) as err:
        load_personas(path)
    assert (err.value.line, err.value.field) == (1, "style.emoji_rate")


def test_duplicate_id_and_extra_field(tmp_path: Path) -> None:
    rows = _lines()
    rows[3]["id"] = rows[0]["id"]
    path = _write(tmp_path, [json.dumps(r, ensure_ascii=False) for r in rows])
    with pytest.raises(PersonaFileError) as err:
        load_personas(path)
    assert (err.value.line, err.value.field) == (4, "id")
    assert "duplicate" in str(err.value) and "line 1" in str(err.value)

    rows = _lines()
    rows[0]["nickname"] = "x"
    path = _write(tmp_path, [json.dumps(r, ensure_ascii=False) for r in rows])
    with pytest.raises(PersonaFileError) as err:
        load_personas(path)
    assert err.value.field == "nickname"


def test_inconsistent_persona_and_empty_file(tmp_path: Path) -> None:
    rows = _lines()
    en = next(r for r in rows if r["language"] == "en")
    en["style"]["first_person"] = "I"
    path = _write(tmp_path, [json.dumps(en)])
    with pytest.raises(PersonaFileError, match="first_person"):
        load_personas(path)
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n\n", encoding="utf-8")
    with pytest.raises(PersonaFileError, match="no personas"):
        load_personas(empty)
    with pytest.raises(PersonaFileError, match="not found"):
        load_personas(tmp_path / "missing.jsonl")


# -- prompts ------------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["en", "ja", "zh"])
def test_prompt_contains_style_examples_and_language(lang: str) -> None:
    persona = _persona(lang)
    text = system_prompt(persona)
    for ex in persona.style.style_examples:
        assert ex.question in text and " / ".join(ex.answer.split("\n")) in text
    assert persona_prompt(persona) in text
    assert persona.name in persona_prompt(persona)
    assert persona.mbti in persona_prompt(persona)
    marker = {"en": "in English", "ja": "日本語", "zh": "中文"}[lang]
    assert marker in text
    if lang != "en":
        assert persona.style.first_person in persona_prompt(persona)
    rl = persona.style.reply_length
    assert str(rl.min) in persona_prompt(persona) and str(rl.max) in persona_prompt(persona)


def test_messages_keep_a_stable_prefix_and_grow_at_the_end() -> None:
    persona = _persona("ja")
    turns = [
        PastTurn(day=1, npc_name="DaVinci", message="おはよう！", response="おはようございます"),
        PastTurn(day=1, npc_name="Donatello", message="今日の予定は？", response="特にないです"),
    ]
    first = build_messages(persona, TurnContext("ja", 2, "Raffaello", "調子はどう？", history=turns))
    nxt = turns + [PastTurn(day=2, npc_name="Raffaello", message="調子はどう？", response="元気です")]
    second = build_messages(
        persona, TurnContext("ja", 2, "Michelangelo", "夕飯は何にする？", history=nxt), note="（メモ）"
    )
    assert first[0]["role"] == "system"
    assert second[: len(first) - 1] == first[:-1]
    assert second[-1]["role"] == "user" and second[-1]["content"].endswith("夕飯は何にする？\n\n（メモ）")
    assert second[-2] == {"role": "assistant", "content": "元気です"}
    # No made-up opening exchange: the only assistant turns are the persona's real replies.
    assistant = [m["content"] for m in first if m["role"] == "assistant"]
    assert assistant == ["おはようございます", "特にないです"]


def test_history_window_drops_in_steps() -> None:
    turns = [PastTurn(day=1, npc_name="A", message=f"m{i}", response=f"r{i}") for i in range(10)]
    assert history_window(turns, 12, 4) == turns
    assert history_window(turns, 8, 4) == turns[4:]
    assert history_window(turns[:9], 8, 4) == turns[4:9]  # same start as with 10 turns: stable prefix
    assert history_window(turns, 0, 4) == []
    assert len(history_window(turns, 12, 2, max_chars=30)) < 10


# -- cleaning -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Me: sounds good", "sounds good"),
        ("User: sounds good", "sounds good"),
        ("A: sounds good", "sounds good"),
        ('"Sounds good."', "Sounds good."),
        ("DaVinci: sure thing", "sure thing"),
        ("sure thing\nDaVinci: great, see you", "sure thing"),
        ("ok! Donatello: what time?", "ok!"),
        ("[Day 2] Fine, thanks.", "Fine, thanks."),
        ("Fine.<|im_end|>", "Fine."),
        ("- Fine by me.", "Fine by me."),
        # lead-ins of a small model (run q-d5-final): the prompt's words, an opening run into a name
        ("As a real person, I think Donatello. I'd go by feel.", "I'd go by feel."),
        ("I think DaVinci. A quiet home, for sure.", "A quiet home, for sure."),
        ("I think DaVinci is right about the fridge.", "I think DaVinci is right about the fridge."),
        ("as a real person i'd throw a party", "I'd throw a party"),
        # an assistant's moral tacked on (25 % of the 1.5B model's replies, 0.4 % of the real people's)
        ("I'd pay off debts. It's important to save money for the future.", "I'd pay off debts."),
        ("Plan B. I think it's also important to feel at home. Do you have any other questions?", "Plan B."),
        ("It's important to me, honestly.", "It's important to me, honestly."),  # nothing else: kept
        ("Comfort is more important to me than price.", "Comfort is more important to me than price."),
        ("I'd buy a home. Is there something else you need help with?", "I'd buy a home."),
        ('I\'d say: "Hey [name], I ate the cake."', 'I\'d say: "Hey, I ate the cake."'),
    ],
)
def test_clean_reply_strips_labels_quotes_and_other_speakers(raw: str, expected: str) -> None:
    persona = _persona("en", casing="normal", emoji_rate=0.1, punctuation="full", line_breaks="sometimes")
    assert clean_reply(raw, persona, npc_names=["DaVinci", "Donatello"]) == expected


def test_clean_reply_strips_persona_name_label_and_echoes() -> None:
    persona = _persona("ja", emoji_rate=0.0, line_breaks="never", punctuation="full")
    question = "週末は何をする予定ですか？"
    raw = f"{persona.name}: 「{question}\nのんびり過ごします。」"
    assert clean_reply(raw, persona, npc_names=["DaVinci"], npc_message=question) == "のんびり過ごします。"
    echoed = f"{reminder(persona)}\n映画を見ます。"
    assert clean_reply(echoed, persona, echoes=[reminder(persona)]) == "映画を見ます。"
    assert clean_reply("映画を見ます（20〜50文字くらいで返信）", persona) == "映画を見ます"
    assert clean_reply("タメ口、22〜64文字くらい。映画！", persona) == "映画！"


def test_clean_reply_drops_a_role_play_lead_in_naming_the_persona() -> None:
    en = _persona("en", casing="normal", emoji_rate=0.0, punctuation="full", line_breaks="never")
    raw = f"As {en.first_name}, I'd definitely keep it secret."
    assert clean_reply(raw, en) == "I'd definitely keep it secret."
    assert clean_reply("As a nurse, I'd keep it secret.", en) == "As a nurse, I'd keep it secret."
    ja = _persona("ja", emoji_rate=0.0, line_breaks="never", punctuation="full")
    assert clean_reply(f"{ja.name}として、計画を立てます。", ja) == "計画を立てます。"


def test_clean_reply_enforces_mechanical_style() -> None:
    lower = _persona("en", casing="lower", emoji_rate=0.0, line_breaks="never", punctuation="minimal")
    assert clean_reply("Sounds GREAT 😂\nSee You There.", lower) == "sounds great see you there"
    emoji_ok = _persona("en", casing="normal", emoji_rate=0.3, line_breaks="often", punctuation="full")
    assert clean_reply("Sounds great 😂\n\nSee you.", emoji_ok) == "Sounds great 😂\nSee you."


def test_clean_reply_truncates_to_a_sane_length() -> None:
    persona = _persona("en", reply_length=LengthRange(min=2, max=5, unit="words"), punctuation="full")
    raw = "Yes I can. " + "This goes on and on without end. " * 20
    out = clean_reply(raw, persona)  # at most twice the typical maximum, ending on a sentence
    assert out == "Yes I can. This goes on and on without end."
    no_stop = clean_reply("word " * 40, persona)
    assert len(no_stop.split()) == 10
    ja = _persona("ja", reply_length=LengthRange(min=5, max=10, unit="chars"), line_breaks="never")
    assert len(clean_reply("あ" * 100, ja)) == 20


def test_is_usable_checks_script_and_disclaimers() -> None:
    assert is_usable("はい、行きます", "ja")
    assert not is_usable("我明天去超市买菜", "ja")  # Chinese for a Japanese persona
    assert is_usable("我明天去超市买菜", "zh")
    assert not is_usable("わたしはにほんごをはなします", "zh")
    assert not is_usable("Sure, I can do that", "zh")
    assert is_usable("sure!", "en")
    assert not is_usable("はい", "en")
    assert not is_usable("  ...  ", "en")
    assert not is_usable("As an AI language model, I cannot", "en")
    assert not is_usable("すみません、私はAIアシスタントです", "ja")


# -- simulated user with a scripted model ---------------------------------------------------------


class ScriptedModel:
    """A ChatModel that returns the given texts in order and records every request."""

    name = "scripted"

    def __init__(self, texts: list[str]) -> None:
        self.texts = list(texts)
        self.requests: list[tuple[list[Message], GenParams]] = []

    async def complete(self, messages: list[Message], params: GenParams) -> Completion:
        self.requests.append((messages, params))
        return Completion(text=self.texts.pop(0), model=self.name)

    def close(self) -> None:
        self.texts.clear()


def _ctx(lang: str = "en", history: list[PastTurn] | None = None) -> TurnContext:
    return TurnContext(
        language=lang, day=1, npc_name="DaVinci", message="How was your day?", history=history or []
    )


async def test_simulated_user_cleans_and_returns_completion() -> None:
    short = LengthRange(min=2, max=6, unit="words")  # the reply is not thin for this persona
    persona = _persona(
        "en", casing="lower", emoji_rate=0.0, typo_rate=0.0, punctuation="full", reply_length=short
    )
    model = ScriptedModel(["Me: Pretty Good, Thanks!"])
    user = SimulatedUser(persona, model, seed=3)
    assert isinstance(user, User)
    reply = await user.reply(_ctx())
    assert reply.text == "pretty good, thanks!"
    assert reply.completion is not None and reply.completion.text == "Me: Pretty Good, Thanks!"
    messages, params = model.requests[0]
    assert messages[0]["role"] == "system"
    assert messages[-1]["content"].startswith("[Day 1] DaVinci: How was your day?\n\n(Private note")
    assert "\n\n" in params.stop and "\nDaVinci:" in params.stop
    assert params.seed is not None and params.max_tokens >= 32
    assert (user.calls, user.retries, user.fallbacks) == (1, 0, 0)


async def test_simulated_user_retries_hotter_then_succeeds() -> None:
    persona = _persona("ja", reply_length=LengthRange(min=5, max=15, unit="chars"))
    model = ScriptedModel(["", "いいですね、行きます"])
    user = SimulatedUser(persona, model, params=GenParams(temperature=0.6, max_tokens=80), seed=1)
    reply = await user.reply(_ctx("ja"))
    assert "行きます" in reply.text
    first, second = model.requests[0][1], model.requests[1][1]
    assert second.temperature > first.temperature == 0.6
    assert first.seed != second.seed
    assert (user.retries, user.fallbacks) == (1, 0)


async def test_simulated_user_falls_back_after_unusable_attempts() -> None:
    persona = _persona("ja")
    model = ScriptedModel(["我明天去超市买菜。", "User:", "As an AI language model"])
    user = SimulatedUser(persona, model, seed=1)
    reply = await user.reply(_ctx("ja"))
    assert reply.text and reply.completion is None and reply.fallback and is_usable(reply.text, "ja")
    assert not any(reply.text in s for s in persona.style.example_texts())
    assert user.fallbacks == 1 and user.last_raw == ["我明天去超市买菜。", "User:", "As an AI language model"]


async def test_simulated_user_is_deterministic_for_a_seed() -> None:
    short = LengthRange(min=5, max=12, unit="words")
    persona = _persona("en", typo_rate=0.3, casing="normal", punctuation="full", reply_length=short)
    texts = ["Honestly the weather was wonderful and everybody seemed cheerful today."]
    a = await SimulatedUser(persona, ScriptedModel(list(texts)), seed=9).reply(_ctx())
    b = await SimulatedUser(persona, ScriptedModel(list(texts)), seed=9).reply(_ctx())
    assert a.text == b.text


# -- CLI -----------------------------------------------------------------------------------------


def test_cli_generate_show_validate(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "p.jsonl"
    result = runner.invoke(
        app, ["generate", "--n", "20", "--seed", "4", "--languages", "en,zh", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "INFP" in result.output and "wrote 20 personas" in result.output
    personas = load_personas(out)
    assert {p.language for p in personas} == {"en", "zh"}
    result = runner.invoke(app, ["show", personas[0].id, "--file", str(out)])
    assert result.exit_code == 0, result.output
    assert personas[0].name in result.output
    assert runner.invoke(app, ["show", "p-ja-999", "--file", str(out)]).exit_code == 1
    assert runner.invoke(app, ["validate", str(out)]).exit_code == 0
    bad = tmp_path / "bad.jsonl"
    bad.write_text(out.read_text(encoding="utf-8").replace('"age": ', '"age": "x', 1), encoding="utf-8")
    result = runner.invoke(app, ["validate", str(bad)])
    assert result.exit_code == 1 and "line 1" in result.output
    assert runner.invoke(app, ["generate", "--help"]).exit_code == 0


# -- the real local model -------------------------------------------------------------------------


@pytest.mark.model
async def test_simulated_user_on_small_local_model_replies_in_japanese() -> None:
    from sharehouse.llm import load_model

    persona = next(p for p in load_personas(default_personas_path()) if p.language == "ja")
    model = load_model("local:small")
    user = SimulatedUser(persona, model, seed=0)
    ctx = TurnContext(
        language="ja", day=1, npc_name="DaVinci", message="はじめまして！今日はどんな一日だった？"
    )
    reply = await user.reply(ctx)
    assert reply.text.strip()
    assert KANA.search(reply.text), reply.text
    assert is_usable(reply.text, "ja")


def test_is_repeat() -> None:
    from sharehouse.personas.cleaning import is_repeat

    assert is_repeat("Sounds good to me!", ["sounds good to me."])
    assert not is_repeat("ok", ["ok"])
    assert not is_repeat("We could cook pasta tonight", ["Sounds good to me"])
    # A whole sentence of an example inside a longer reply is a copy too.
    assert is_repeat(
        "Well, I made a big pot of lentil soup, then slept", ["I made a big pot of lentil soup. Nice."]
    )
