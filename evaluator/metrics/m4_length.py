"""M4: normalised length similarity, min(len) / max(len) (higher is better, in [0, 1]).

Default unit ``chars``: characters of the stripped strings, as the published reference computes
it (the paper's prose says tokens). Option ``tokens``: the language-aware token counts. Both
empty → 1.0 (same length); exactly one empty → 0.0.
"""

from __future__ import annotations

from typing import Literal

from evaluator.metrics.tokenize import tokenize

LengthUnit = Literal["chars", "tokens"]


def length_ratio(a: int, b: int) -> float:
    """min/max of two non-negative lengths."""
    hi = max(a, b)
    return 1.0 if hi == 0 else min(a, b) / hi


def length_similarity(
    reference: str, prediction: str, *, unit: LengthUnit = "chars", language: str = "en"
) -> float:
    if unit == "chars":
        return length_ratio(len(reference.strip()), len(prediction.strip()))
    if unit == "tokens":
        return length_ratio(len(tokenize(reference, language)), len(tokenize(prediction, language)))
    raise ValueError(f"unknown length unit {unit!r}: use chars or tokens")
