"""M5: type-token ratio of the prediction alone (higher is better, in [0, 1]).

Distinct tokens / tokens, on the same language-aware tokens as BLEU (case kept; by default the
whitespace tokens of jieba/Sudachi count, see :func:`evaluator.metrics.tokenize.metric_tokens`);
0.0 for an empty prediction. The reference is not involved, as in the published reference.
"""

from __future__ import annotations

from collections.abc import Sequence


def type_token_ratio(tokens: Sequence[str]) -> float:
    return len(set(tokens)) / len(tokens) if tokens else 0.0
