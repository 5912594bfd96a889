"""score_pairs: edge-case predictions in every language, options, history from the store."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from evaluator.metrics.encoders import USEM3
from evaluator.metrics.m1_wmd import WMD_MAX
from evaluator.scoring import MetricOptions, ScorePair, score_pairs
from sharehouse.store import Position, SessionRecord, Store, TurnRecord

REFS = {
    "en": "Sure, I can cook dinner tonight if everyone is home.",
    "ja": "今夜はみんながいるなら夕食を作りますよ。",
    "zh": "如果大家今晚都在家，我可以做晚饭。",
}
HISTORY = {
    "en": ["I like quiet evenings.", "Cooking relaxes me."],
    "ja": ["静かな夜が好きです。", "料理をすると落ち着きます。"],
    "zh": ["我喜欢安静的晚上。", "做饭让我放松。"],
}
EDGE = ["", "   \n ", "😀🎉👍", "x" * 5000, "晚饭 夕食 dinner " * 300]


def _check_ranges(s) -> None:  # noqa: ANN001
    assert math.isfinite(s.m1) and 0.0 <= s.m1 <= WMD_MAX
    assert math.isfinite(s.m2) and -1.0 <= s.m2 <= 1.0
    assert 0.0 <= s.m3 <= 1.0
    assert 0.0 <= s.m4 <= 1.0
    assert 0.0 <= s.m5 <= 1.0
    assert s.m6 is None or (math.isfinite(s.m6) and -1.0 <= s.m6 <= 1.0)


def test_edge_predictions_give_finite_scores() -> None:
    pairs = [
        ScorePair(
            user=f"u-{lang}", language=lang, reference=REFS[lang], prediction=pred, history=HISTORY[lang]
        )
        for lang in REFS
        for pred in EDGE
        if len(pred) < 1000 or lang == "en"  # the long ones once: they cost the most encoder time
    ]
    scores = score_pairs(pairs)
    assert len(scores) == len(pairs)
    for pair, s in zip(pairs, scores, strict=True):
        _check_ranges(s)
        assert s.m6 is not None
        if not pair.prediction.strip():
            assert s.m1 == WMD_MAX and s.m3 == 0.0 and s.m4 == 0.0 and s.m5 == 0.0


def test_identical_prediction_defaults() -> None:
    pairs = [ScorePair(user="u", language=lang, reference=REFS[lang], prediction=REFS[lang]) for lang in REFS]
    for s in score_pairs(pairs):
        assert s.m1 == 0.0
        assert s.m2 == pytest.approx(1.0, abs=1e-5)
        assert s.m3 == pytest.approx(1.0)
        assert s.m4 == 1.0
        assert s.m6 is None  # no history given, no store
        assert (s.m2_encoder, s.m6_encoder, s.m4_unit) == ("all-MiniLM-L6-v2", "all-mpnet-base-v2", "chars")


def test_options_multilingual_and_token_length() -> None:
    opts = MetricOptions(sentence_encoder=USEM3, history_encoder=USEM3, length_unit="tokens")
    pair = ScorePair(
        user="u", language="jp", reference="お茶が好き", prediction="お茶", history=["お茶が好き"]
    )
    (s,) = score_pairs([pair], options=opts)
    assert s.language == "ja"
    assert s.m4 == pytest.approx(2 / 4)  # Sudachi: お|茶|が|好き vs お|茶
    assert (s.m2_encoder, s.m6_encoder, s.m4_unit) == (USEM3, USEM3, "tokens")
    _check_ranges(s)
    (same,) = score_pairs([pair.model_copy(update={"prediction": "お茶が好き"})], options=opts)
    assert same.m6 == pytest.approx(1.0, abs=1e-5)


def test_history_from_store(tmp_path: Path) -> None:
    with Store(tmp_path / "s.duckdb") as store:
        store.create_session(
            SessionRecord(id="s1", kind="human", source="play", user_id="alice", language="en")
        )
        for i, text in enumerate(HISTORY["en"]):
            store.append_turn(
                TurnRecord(session_id="s1", day=1, idx=i, npc="Rin", message="?", response=text),
                Position(day=1, state="x"),
            )
        pairs = [
            ScorePair(user="alice", language="en", reference=REFS["en"], prediction="Cooking relaxes me."),
            ScorePair(user="bob", language="en", reference=REFS["en"], prediction="Cooking relaxes me."),
        ]
        alice, bob = score_pairs(pairs, store=store, options=MetricOptions(history_encoder=USEM3))
        assert alice.m6 is not None and alice.m6 > 0.5
        assert bob.m6 is None
