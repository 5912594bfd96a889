"""Metrics M1–M6 of the YNTP evaluation (see ``shared/spec/metrics.md``).

Importing this package loads no model: tokenizers and encoders are built on first use.
"""

from evaluator.metrics.m1_wmd import WMD_MAX, wmd, wmd_words
from evaluator.metrics.m2_sentence import cosine, sentence_similarity
from evaluator.metrics.m3_bleu import bleu
from evaluator.metrics.m4_length import length_ratio, length_similarity
from evaluator.metrics.m5_ttr import type_token_ratio
from evaluator.metrics.m6_history import history_centroid, history_similarity
from evaluator.metrics.tokenize import normalize_language, tokenize

__all__ = [
    "WMD_MAX",
    "bleu",
    "cosine",
    "history_centroid",
    "history_similarity",
    "length_ratio",
    "length_similarity",
    "normalize_language",
    "sentence_similarity",
    "tokenize",
    "type_token_ratio",
    "wmd",
    "wmd_words",
]
