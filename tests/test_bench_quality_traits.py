"""bench_quality's trait-recovery section: letters recovered from stances, scored against the 80 % target."""

from __future__ import annotations

from collections import Counter

from bench.bench_quality import traits_text
from sharehouse.personas.traits import PersonaTraits, TraitReport


def _traits(pid: str, lang: str, mbti: str, votes: dict[str, str]) -> PersonaTraits:
    return PersonaTraits(pid, lang, mbti, {dim: Counter(letters) for dim, letters in votes.items()})


def test_the_section_passes_a_recovered_language_and_fails_a_tied_one() -> None:
    report = TraitReport(
        [
            _traits("p-en-1", "en", "ENTP", {"E/I": "EE", "S/N": "N", "T/F": "TTF", "J/P": "P"}),
            _traits("p-zh-1", "zh", "ISFP", {"E/I": "EI", "S/N": "S", "T/F": "", "J/P": "JJ"}),
        ]
    )
    text = traits_text(report)
    rows = {line.split("|")[1].strip(): line for line in text.splitlines() if line.startswith("| ")}
    assert "4/4" in rows["en"] and "pass" in rows["en"] and "ENTP→ENTP" in rows["en"]
    # E/I tied, T/F missing, J/P wrong: only S recovered.
    assert "1/4" in rows["zh"] and "FAIL" in rows["zh"] and "ISFP→?S?J" in rows["zh"]
    assert "5/8" in rows["all"]


def test_a_run_without_stances_says_so() -> None:
    assert "no stored stances" in traits_text(TraitReport())
