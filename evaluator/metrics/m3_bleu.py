"""M3: sentence BLEU of the prediction against the one reference (higher is better, in [0, 1]).

Up to 4-grams with uniform weights and smoothing method 1 of Chen & Cherry (an n-gram order
with no match counts 0.1 matches), on the language-aware tokens. Computed with sacrebleu on
space-joined tokens (``tokenize="none"``; n-gram statistics from ``sentence_score``, the score
from ``BLEU.compute_bleu`` with ``smooth_method="floor"``, ``smooth_value=0.1``). One detail is
aligned with NLTK's ``sentence_bleu(..., smoothing_function=method1)``, the published
reference: an n-gram order the prediction is too short to have is counted as 0 of 1 (and so
smoothed to 0.1) rather than ending the sum, so both give the same number on the same tokens.
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


def bleu(reference: Sequence[str], prediction: Sequence[str]) -> float:
    """Sentence BLEU in [0, 1] of token lists (tokens must not contain whitespace)."""
    from sacrebleu.metrics import BLEU

    if not reference or not prediction:
        return 0.0
    stats = _scorer().sentence_score(" ".join(prediction), [" ".join(reference)])
    if not stats.counts[0]:
        return 0.0
    final = BLEU.compute_bleu(
        list(stats.counts), [max(1, t) for t in stats.totals], stats.sys_len, stats.ref_len,
        smooth_method="floor", smooth_value=EPSILON, effective_order=False, max_ngram_order=MAX_ORDER,
    )  # fmt: skip
    return min(max(float(final.score) / 100.0, 0.0), 1.0)
