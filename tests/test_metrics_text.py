"""Tokenizers, M3 BLEU, M4 length similarity and M5 TTR (no neural encoders involved)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu

from evaluator.metrics import (
    bleu,
    length_ratio,
    length_similarity,
    normalize_language,
    tokenize,
    type_token_ratio,
)

SHARED = Path(__file__).resolve().parents[2] / "shared"


@pytest.fixture(scope="module")
def replies() -> dict[str, list[str]]:
    """Real replies per language from YNTP-100 (a few users each)."""
    out: dict[str, list[str]] = {}
    for folder, lang in (("en", "en"), ("jp", "ja"), ("cn", "zh")):
        texts: list[str] = []
        for path in sorted((SHARED / "yntp100" / folder).glob("*.json"))[:6]:
            data = json.loads(path.read_text(encoding="utf-8"))
            texts += [t["response"] for day in data.values() for t in day if t["response"].strip()]
        out[lang] = texts
    return out


def test_language_codes() -> None:
    assert [normalize_language(c) for c in ("en", "JP", "ja", "cn", "zh", "zh-CN")] == [
        "en",
        "ja",
        "ja",
        "zh",
        "zh",
        "zh",
    ]
    with pytest.raises(ValueError, match="unknown language"):
        normalize_language("fr")


def test_english_treebank_tokens() -> None:
    assert tokenize("I'm fine, thanks. Don't worry!", "en") == [
        "I",
        "'m",
        "fine",
        ",",
        "thanks",
        ".",
        "Do",
        "n't",
        "worry",
        "!",
    ]


def test_japanese_sudachi_mode_c() -> None:
    # Mode C keeps the compound noun whole (modes A/B would split it).
    assert tokenize("選挙管理委員会に行きました。", "ja") == [
        "選挙管理委員会",
        "に",
        "行き",
        "まし",
        "た",
        "。",
    ]


def test_chinese_jieba() -> None:
    assert tokenize("我们一起打扫厨房吧", "zh") == ["我们", "一起", "打扫", "厨房", "吧"]


@pytest.mark.parametrize("lang", ["en", "ja", "zh"])
@pytest.mark.parametrize("text", ["", "   \n\t", "😀😀🎉", "a" * 5000, "木" * 5000, "Hi!  \u3000 ok"])
def test_tokens_never_hold_whitespace(lang: str, text: str) -> None:
    toks = tokenize(text, lang)
    assert all(t and not any(c.isspace() for c in t) for t in toks)
    if not text.strip():
        assert toks == []


@pytest.mark.parametrize("lang", ["en", "ja", "zh"])
def test_bleu_identical_is_one(lang: str, replies: dict[str, list[str]]) -> None:
    long_enough = [t for t in replies[lang] if len(tokenize(t, lang)) >= 4][:5]
    assert long_enough
    for text in long_enough:
        toks = tokenize(text, lang)
        assert bleu(toks, toks) == pytest.approx(1.0)


def test_bleu_identical_short_follows_method1() -> None:
    # Under NLTK method 1 a 3-token sentence has no 4-gram: that order counts 0.1 / 1.
    toks = ["good", "morning", "!"]
    assert bleu(toks, toks) == pytest.approx(0.1**0.25)


def test_bleu_hand_checked() -> None:
    ref = "the cat sat on the mat".split()
    # unigram 5/5, bigram 3/4, trigram 1/3, 4-gram 0/2 -> 0.1/2; BP = exp(1 - 6/5)
    pred = "the cat sat the mat".split()
    import math

    expected = math.exp(1 - 6 / 5) * math.exp(
        (math.log(5 / 5) + math.log(3 / 4) + math.log(1 / 3) + math.log(0.1 / 2)) / 4
    )
    assert bleu(ref, pred) == pytest.approx(expected, rel=1e-12)
    assert bleu(ref, ["dog"]) == 0.0
    assert bleu(ref, []) == 0.0
    assert bleu([], pred) == 0.0


def test_bleu_equals_nltk_method1(replies: dict[str, list[str]]) -> None:
    smooth = SmoothingFunction().method1
    rng = random.Random(7)
    checked = 0
    for lang, texts in replies.items():
        for i in range(150):
            a, b = rng.choice(texts), rng.choice(texts)
            if i % 4 == 0:  # short predictions: fewer tokens than the 4-gram order
                b = a[: rng.randint(1, 12)]
            if i % 7 == 0:  # heavy overlap
                b = a + " " + b
            ref, pred = tokenize(a, lang), tokenize(b, lang)
            if not ref or not pred:
                continue
            expected = sentence_bleu([ref], pred, smoothing_function=smooth)
            assert bleu(ref, pred) == pytest.approx(expected, abs=1e-12), (lang, a, b)
            checked += 1
    assert checked > 400


def test_length_similarity() -> None:
    assert length_similarity("abcd", "ab") == 0.5
    assert length_similarity("  abcd  ", "abcd\n") == 1.0
    assert length_similarity("", "") == 1.0
    assert length_similarity("abc", "   ") == 0.0
    assert length_similarity("I like tea.", "Tea", unit="tokens", language="en") == pytest.approx(1 / 4)
    # Sudachi: お|茶|が|好き vs お|茶
    assert length_similarity("お茶が好き", "お茶", unit="tokens", language="ja") == pytest.approx(2 / 4)
    with pytest.raises(ValueError):
        length_similarity("a", "b", unit="words")  # type: ignore[arg-type]


def test_type_token_ratio() -> None:
    assert type_token_ratio([]) == 0.0
    assert type_token_ratio(tokenize("no no no yes", "en")) == 0.5
    assert type_token_ratio(tokenize("好的好的", "zh")) == pytest.approx(
        len(set(tokenize("好的好的", "zh"))) / len(tokenize("好的好的", "zh"))
    )


_text = st.text(alphabet=st.sampled_from(list("ab cd,.!こんにちは好的😀 \n")), max_size=60)


@settings(max_examples=80, deadline=None)
@given(a=_text, b=_text, lang=st.sampled_from(["en", "ja", "zh"]))
def test_properties_bleu_length_ttr(a: str, b: str, lang: str) -> None:
    ra, rb = tokenize(a, lang), tokenize(b, lang)
    score = bleu(ra, rb)
    assert 0.0 <= score <= 1.0
    assert length_similarity(a, b) == length_similarity(b, a)
    assert 0.0 <= length_similarity(a, b) <= 1.0
    assert length_ratio(len(ra), len(rb)) == length_ratio(len(rb), len(ra))
    assert 0.0 <= type_token_ratio(rb) <= 1.0
    if len(ra) >= 4:
        assert bleu(ra, ra) == pytest.approx(1.0)


# -- M3/M5 tokens: the reference keeps jieba/Sudachi whitespace tokens ------------------------

ENGLISH_REPLY = "we will go to the park and then we will eat"  # 11 words, 9 distinct, 10 spaces


def test_english_prediction_for_a_chinese_user_gets_the_lower_ttr_by_default() -> None:
    from evaluator.metrics.tokenize import DEFAULT_TOKENS, metric_tokens

    assert DEFAULT_TOKENS == "reference"
    kept = metric_tokens(ENGLISH_REPLY, "zh")
    dropped = metric_tokens(ENGLISH_REPLY, "zh", "no-whitespace")
    assert kept.count(" ") == 10 and len(kept) == 21 and dropped == ENGLISH_REPLY.split()
    assert type_token_ratio(kept) == pytest.approx(10 / 21)  # 9 words + the space type
    assert type_token_ratio(dropped) == pytest.approx(9 / 11)
    ja = metric_tokens("今日は 公園に　行きます", "ja")
    assert " " in ja and "\u3000" in ja
    assert " " not in metric_tokens("今日は 公園に　行きます", "ja", "no-whitespace")
    # English: Treebank tokens never hold whitespace, both modes agree
    for text in (ENGLISH_REPLY, "Sure,  I'll   be there!\n\nSee you."):
        assert metric_tokens(text, "en") == metric_tokens(text, "en", "no-whitespace") == tokenize(text, "en")
    assert metric_tokens("", "zh") == [] and tokenize("   ", "zh") == []
    with pytest.raises(ValueError, match="token mode"):
        metric_tokens("a", "zh", "words")  # type: ignore[arg-type]


def test_bleu_on_whitespace_tokens_equals_nltk(replies: dict[str, list[str]]) -> None:
    from evaluator.metrics.tokenize import metric_tokens

    smooth = SmoothingFunction().method1
    checked = 0
    for lang in ("ja", "zh"):
        texts = replies[lang]
        for i, a in enumerate(texts[:40]):
            b = ENGLISH_REPLY if i % 3 == 0 else f"{texts[(i + 5) % len(texts)]} {a[:6]}"
            ref, pred = metric_tokens(a, lang), metric_tokens(b, lang)
            if not ref or not pred:
                continue
            assert bleu(ref, pred) == pytest.approx(
                sentence_bleu([ref], pred, smoothing_function=smooth), abs=1e-12
            ), (lang, a, b)
            checked += 1
    assert checked > 50
    # whitespace tokens match each other only: a space-separated prediction matches the reference's spaces
    five = ["a", " ", "b", " ", "c"]
    assert bleu(five, list(five)) == pytest.approx(1.0)
    assert bleu(five, ["a", "\u3000", "b", " ", "c"]) < 1.0
