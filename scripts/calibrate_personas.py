"""Derive the persona generator's style numbers from the real YNTP-100 participants.

    .venv/bin/python scripts/calibrate_personas.py [--data ../shared/yntp100]

For every real person (all five days) it measures: mean reply length (words for English,
non-space characters for Japanese and Chinese), their short (20th percentile) and long (80th
percentile) replies, how they punctuate, the share of replies with an emoji, a line break, a
question back and (English) starting in lower case. It prints the per-language summary and the
Python literal of ``pools.STYLE_CALIBRATION``, which is pasted into
``sharehouse/personas/pools.py`` (the generator reads only that constant, never the data).
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
from collections import Counter
from pathlib import Path

from sharehouse.personas.cleaning import EMOJI_RE, measure
from sharehouse.realism.yntp import load_yntp_replies

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "yntp100"
_END_STOP = re.compile(r"[.。]$")
_EXCLAIM = re.compile(r"[!！]")
_ELLIPSIS = re.compile(r"\.\.\.|…")
_PUNCT = re.compile(r"[.,!?;:。、，！？；：…]")


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    pos = q * (len(ordered) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def punctuation_habit(replies: list[str]) -> str:
    """The persona punctuation label that describes one real person best."""
    n = len(replies)
    exclaim = sum(bool(_EXCLAIM.search(r)) for r in replies) / n
    ellipsis = sum(bool(_ELLIPSIS.search(r)) for r in replies) / n
    stops = sum(bool(_END_STOP.search(r.strip())) for r in replies) / n
    any_punct = sum(bool(_PUNCT.search(r)) for r in replies) / n
    if exclaim >= 0.3:
        return "exclamations"
    if ellipsis >= 0.25:
        return "ellipses"
    if any_punct <= 0.2:
        return "none"
    if stops >= 0.5:
        return "full"
    return "minimal"


def person_stats(lang: str, replies: list[str]) -> dict[str, float | str]:
    lengths = [float(measure(r, lang)) for r in replies]
    n = len(replies)
    lower = [r for r in replies if r[:1].isalpha()]
    return {
        "mean_len": statistics.fmean(lengths),
        "short_len": _quantile(lengths, 0.2),
        "long_len": _quantile(lengths, 0.8),
        "emoji": sum(bool(EMOJI_RE.search(r)) for r in replies) / n,
        "line_breaks": sum("\n" in r.strip() for r in replies) / n,
        "question": sum(("?" in r or "？" in r) for r in replies) / n,
        "lower": (sum(r[0].islower() for r in lower) / len(lower)) if lower else 0.0,
        "punctuation": punctuation_habit(replies),
    }


def _band(people: list[dict[str, float | str]]) -> tuple[tuple[int, int], tuple[int, int]]:
    shorts = [float(p["short_len"]) for p in people]
    longs = [float(p["long_len"]) for p in people]
    lo = (max(1, round(_quantile(shorts, 0.25))), max(1, round(_quantile(shorts, 0.75))))
    hi_lo = max(lo[1] + 1, round(_quantile(longs, 0.25)))
    hi = (hi_lo, max(hi_lo + 1, round(_quantile(longs, 0.75))))
    return lo, hi


def _shares(labels: list[str], keys: tuple[str, ...]) -> dict[str, float]:
    counts = Counter(labels)
    total = len(labels)
    # A small floor keeps every habit possible in the synthetic population.
    return {k: round(max(counts.get(k, 0) / total, 0.03), 2) for k in keys}


def calibrate(data: Path) -> dict[str, dict[str, object]]:
    people: dict[str, list[dict[str, float | str]]] = {}
    for _user, (lang, replies) in load_yntp_replies(data).items():
        if replies:
            people.setdefault(lang, []).append(person_stats(lang, replies))
    out: dict[str, dict[str, object]] = {}
    for lang in sorted(people):
        group = sorted(people[lang], key=lambda p: float(p["mean_len"]))
        third = len(group) / 3
        tiers = {
            "terse": group[: round(third)],
            "moderate": group[round(third) : round(2 * third)],
            "elaborate": group[round(2 * third) :],
        }
        emoji_users = [float(p["emoji"]) for p in group if float(p["emoji"]) > 0]
        breaks = [
            "never"
            if float(p["line_breaks"]) == 0
            else ("sometimes" if float(p["line_breaks"]) < 0.3 else "often")
            for p in group
        ]
        out[lang] = {
            "people": len(group),
            "mean_len": round(statistics.fmean(float(p["mean_len"]) for p in group), 1),
            "length_bands": {name: _band(tier) for name, tier in tiers.items()},
            "emoji_people": round(len(emoji_users) / len(group), 2),
            "emoji_rates": sorted({round(r, 2) for r in emoji_users}) or [0.0],
            "line_breaks": _shares(breaks, ("never", "sometimes", "often")),
            "punctuation": _shares(
                [str(p["punctuation"]) for p in group],
                ("none", "minimal", "full", "exclamations", "ellipses"),
            ),
            "question_rates": [
                round(_quantile([float(p["question"]) for p in group], q), 2) for q in (0.25, 0.5, 0.75)
            ],
            "lower_people": round(sum(float(p["lower"]) >= 0.5 for p in group) / len(group), 2),
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the YNTP-100 folder (en/, cn/, jp/)")
    args = parser.parse_args()
    result = calibrate(args.data)
    for lang, row in result.items():
        unit = "words" if lang == "en" else "chars"
        print(f"{lang}: {row['people']} people, mean reply length {row['mean_len']} {unit}")
    print("\nSTYLE_CALIBRATION =", json.dumps(result, indent=4, ensure_ascii=False))


if __name__ == "__main__":
    main()
