"""M3: sentence BLEU of the prediction against the one reference (higher is better, in [0, 1]).

Up to 4-grams with uniform weights and smoothing method 1 of Chen & Cherry (an n-gram order
with no match counts 0.1 matches), on the language-aware tokens. Computed with sacrebleu on
space-joined tokens (``tokenize="none"``; n-gram statistics from ``sentence_score``, the score
from ``BLEU.compute_bleu`` with ``smooth_method="floor"``, ``smooth_value=0.1``). One detail is
aligned with NLTK's ``sentence_bleu(..., smoothing_function=method1)``, the published
reference: an n-gram order the prediction is too short to have is counted as 0 of 1 (and so
smoothed to 0.1) rather than ending the sum, so both give the same number on the same tokens.
Tokens that hold whitespace (the jieba/Sudachi whitespace tokens the reference counts) are given
a whitespace-free stand-in of their own before joining, so they still match only each other.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

MAX_ORDER = 4
EPSILON = 0.1


@functools.cache
def _scorer() -> Any:
    from sacrebleu.metrics import BLEU

    return BLEU(
        tokenize="none",
        smooth_method="floor",
        smooth_value=EPSILON,
        effective_order=True,
        max_ngram_order=MAX_ORDER,
        lowercase=False,
    )


#: Prefix of the stand-in of a token that holds whitespace (a private-use character).
_SPACE_TOKEN = "\ue000"


def _joinable(token: str) -> str:
    if token and not any(ch.isspace() for ch in token):
        return token
    return _SPACE_TOKEN + "".join(f"{ord(ch):x}." for ch in token)


def bleu(reference: Sequence[str], prediction: Sequence[str]) -> float:
    """Sentence BLEU in [0, 1] of token lists (a token may be whitespace)."""
    from sacrebleu.metrics import BLEU

    if not reference or not prediction:
        return 0.0
    stats = _scorer().sentence_score(
        " ".join(_joinable(t) for t in prediction), [" ".join(_joinable(t) for t in reference)]
    )
    if not stats.counts[0]:
        return 0.0
    final = BLEU.compute_bleu(
        list(stats.counts), [max(1, t) for t in stats.totals], stats.sys_len, stats.ref_len,
        smooth_method="floor", smooth_value=EPSILON, effective_order=False, max_ngram_order=MAX_ORDER,
    )  # fmt: skip
    return min(max(float(final.score) / 100.0, 0.0), 1.0)
