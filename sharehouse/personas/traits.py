"""Trait recovery: from the stances stored with a run's turns, recover each persona's MBTI type.

Every simulated turn on a question that probes a dimension stores the side the persona took
(``turns.stance``). Counting those sides per dimension (one vote per question: a follow-up keeps the
same stance) and taking the majority gives a recovered letter; a tie leaves the letter unresolved.
Agreement is the share of the personas' letters recovered correctly (unresolved letters count as
misses), per persona, per dimension and per language.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sharehouse.personas.models import Persona
from sharehouse.personas.stance import DIMENSIONS
from sharehouse.store import Store

UNRESOLVED = "?"


@dataclass
class PersonaTraits:
    persona_id: str
    language: str
    mbti: str  # the persona's type
    votes: dict[str, Counter[str]]  # dimension -> letter -> questions answered from that side

    @property
    def recovered(self) -> str:
        """Four letters, ``?`` where the votes tie or are missing (e.g. ``EN?P``)."""
        out = []
        for dim in DIMENSIONS:
            counts = self.votes.get(dim, Counter())
            ranked = counts.most_common()
            tie = len(ranked) > 1 and ranked[0][1] == ranked[1][1]
            out.append(UNRESOLVED if not ranked or tie else ranked[0][0])
        return "".join(out)

    @property
    def matches(self) -> list[bool]:
        return [got == want for got, want in zip(self.recovered, self.mbti, strict=True)]


@dataclass
class TraitReport:
    personas: list[PersonaTraits] = field(default_factory=list)

    def agreement(self, language: str | None = None, dimension: str | None = None) -> tuple[int, int]:
        """(letters recovered correctly, letters) over the personas of ``language`` / one ``dimension``."""
        hit = total = 0
        index = list(DIMENSIONS).index(dimension) if dimension else None
        for p in self.personas:
            if language and p.language != language:
                continue
            matches = p.matches if index is None else [p.matches[index]]
            hit += sum(matches)
            total += len(matches)
        return hit, total

    def to_json(self) -> dict[str, Any]:
        def share(pair: tuple[int, int]) -> float | None:
            return round(pair[0] / pair[1], 3) if pair[1] else None

        langs = sorted({p.language for p in self.personas})
        return {
            "agreement": share(self.agreement()),
            "by_language": {lang: share(self.agreement(lang)) for lang in langs},
            "by_dimension": {dim: share(self.agreement(dimension=dim)) for dim in DIMENSIONS},
            "personas": [
                {
                    "persona_id": p.persona_id,
                    "language": p.language,
                    "mbti": p.mbti,
                    "recovered": p.recovered,
                    "votes": {dim: dict(c) for dim, c in p.votes.items()},
                }
                for p in self.personas
            ],
        }


def recover_traits(
    stances: Mapping[str, Iterable[Mapping[str, Any]]], personas: Mapping[str, Persona]
) -> TraitReport:
    """Majority letters per persona from its stances (one per question); personas not in
    ``personas`` are skipped (their type is unknown)."""
    report = TraitReport()
    for persona_id, rows in sorted(stances.items()):
        persona = personas.get(persona_id)
        if persona is None:
            continue
        votes: dict[str, Counter[str]] = {dim: Counter() for dim in DIMENSIONS}
        for stance in rows:
            dim, letter = stance.get("dimension"), stance.get("letter")
            if dim in votes and isinstance(letter, str) and letter in dim:
                votes[dim][letter] += 1
        report.personas.append(PersonaTraits(persona_id, persona.language, persona.mbti, votes))
    return report


def run_stances(store: Store, run_id: str) -> dict[str, list[dict[str, Any]]]:
    """The stances of a run's simulated sessions, per persona id, one per question (state)."""
    out: dict[str, list[dict[str, Any]]] = {}
    for session in store.list_sessions(run_id=run_id):
        if not session.persona_id:
            continue
        seen: dict[str, dict[str, Any]] = {}
        for turn in store.load_turns(session.id):
            if turn.stance and turn.state_id not in seen:
                seen[turn.state_id] = json.loads(turn.stance)
        out.setdefault(session.persona_id, []).extend(seen.values())
    return out
