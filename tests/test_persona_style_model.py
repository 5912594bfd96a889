"""A simulated user on the real local model answers the questions, in its own words and style.

Five of the scenario's questions in a row, with the growing history, on ``local:small`` (English in
the default suite, about 30 s on an idle CPU; Japanese and Chinese are marked slow). Checked on
the RAW model text (before cleaning, which would enforce length and casing itself): the persona's
language and register, a length near the persona's, no copy of an earlier reply or a style example,
and a content word shared with the question or the stance on most replies.
"""

from __future__ import annotations

import re

import pytest

from sharehouse.engine.users import PastTurn, TurnContext
from sharehouse.personas.cleaning import is_repeat, is_usable, measure
from sharehouse.personas.io import default_personas_path, load_personas
from sharehouse.personas.simulated import SimulatedUser

pytestmark = pytest.mark.model

STATES = ("d1_windfall", "d1_plan", "d2_missing", "d3_vision", "d4_noise")
POLITE = re.compile(r"です|ます|ません|でしょう|ください|ございます")
_STOP = set(
    "that this with would have your what about them they their just like really think there from "
    "into when then than some more very much also been were will make things thing".split()
)


def content_units(text: str, lang: str) -> set[str]:
    """Words of 4+ letters (en, stop words out, crude stem) or CJK character pairs (ja, zh)."""
    if lang == "en":
        return {w[:5] for w in re.findall(r"[a-z]{4,}", text.lower()) if w not in _STOP}
    cjk = re.findall(r"[\u4e00-\u9fff]{2,}", text)
    return {run[i : i + 2] for run in cjk for i in range(len(run) - 1)}


async def _play(persona_id: str, model, scenario) -> tuple[object, list[tuple[str, str, str, dict]]]:
    persona = next(p for p in load_personas(default_personas_path()) if p.id == persona_id)
    lang = persona.language
    user = SimulatedUser(persona, model, seed=1)
    housemates = tuple(n.name.get(lang) for n in scenario.npcs)
    history: list[PastTurn] = []
    out = []
    for i, state_id in enumerate(STATES):
        state = scenario.state(state_id)
        ctx = TurnContext(
            language=lang, day=1 + i // 2, npc_name=scenario.npc(state.npc).name.get(lang),
            message=state.opener.get(lang), history=list(history), housemates=housemates,
            state_id=state.id, dimension=state.mbti,
            poles={k: v.get(lang) for k, v in (state.poles or {}).items()},
        )  # fmt: skip
        reply = await user.reply(ctx)
        raw = reply.completion.text if reply.completion is not None else ""
        out.append((ctx.message, raw, reply.text, reply.stance or {}))
        history.append(PastTurn(ctx.day, ctx.npc_name, ctx.message, reply.text))
    return persona, out


def _check_common(persona, turns) -> None:
    lang = persona.language
    rl = persona.style.reply_length
    raws = [raw for _, raw, _, _ in turns if raw]
    assert len(raws) >= 4, f"{persona.id}: the model gave no usable text on {5 - len(raws)} of 5 questions"
    for raw in raws:
        assert is_usable(raw, lang), f"{persona.id}: raw reply not in the persona's language: {raw!r}"
        assert 1 <= measure(raw, lang) <= 3 * rl.max, f"{persona.id}: raw length off ({rl}): {raw!r}"
    texts = [text for _, _, text, _ in turns]
    examples = persona.style.example_texts()
    for i, text in enumerate(texts):
        assert not is_repeat(text, [*examples, *texts[:i]]), f"{persona.id}: copied reply {text!r}"
    related = 0
    for question, _, text, stance in turns:
        wanted = content_units(question + " " + stance.get("pole", "") + " " + stance.get("reason", ""), lang)
        related += bool(content_units(text, lang) & wanted)
    assert related >= 3, (
        f"{persona.id}: only {related}/5 replies share a content word with question or stance"
    )


def _persona_id(lang: str, **style: str) -> str:
    for p in load_personas(default_personas_path()):
        if p.language == lang and all(getattr(p.style, k) == v for k, v in style.items()):
            return p.id
    raise AssertionError(f"no {lang} persona with {style} in the shipped file")


async def test_english_persona_answers_five_questions_in_its_own_words(small_model, scenario) -> None:
    persona, turns = await _play(
        _persona_id("en", casing="normal", elaboration="moderate"), small_model, scenario
    )
    _check_common(persona, turns)


@pytest.mark.slow
async def test_polite_japanese_persona_keeps_desu_masu_in_raw_text(small_model, scenario) -> None:
    persona, turns = await _play(_persona_id("ja", formality="polite"), small_model, scenario)
    _check_common(persona, turns)
    raws = [raw for _, raw, _, _ in turns if raw]
    polite = sum(bool(POLITE.search(raw)) for raw in raws)
    assert polite >= len(raws) - 1, f"a polite speaker dropped です/ます: {raws}"


@pytest.mark.slow
async def test_chinese_persona_answers_five_questions_in_its_own_words(small_model, scenario) -> None:
    persona, turns = await _play(_persona_id("zh", elaboration="moderate"), small_model, scenario)
    _check_common(persona, turns)
