"""Set the margins of the check's other-question gate (sharehouse/engine/relevance.py) on the real people.

    .venv/bin/python -m scripts.calibrate_other_question [--data ../shared/yntp100] [--share 0.03]

For every real YNTP-100 turn it takes how much closer the reply is to a message of another day of the
same conversation than to its own message (leaving out the other days' messages about the same thing
as its own, ``SAME_TOPIC``), with the relevance gate's encoder for the language. It prints the
difference that flags ``--share`` of the real replies (the proposed margin) and, for the margins in
``OTHER_QUESTION_MARGIN``, the share of real replies flagged and of each class of the labelled check
set. The margins are pasted into ``OTHER_QUESTION_MARGIN`` by hand; the check never reads the data.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from bench.bench_check import load_check_set, load_day_lines, other_days
from sharehouse.engine.relevance import OTHER_QUESTION_MARGIN, RelevanceGate
from sharehouse.io.yntp import parse_yntp_bytes
from sharehouse.lang import LANGS, LANGUAGE_DIRS

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "yntp100"
LABELS = ("answer", "non-answer", "off-topic", "other-question")


def difference(gate: RelevanceGate, question: str, reply: str, others: list[str], lang: str) -> float:
    nearest = gate.nearest_other(question, reply, others, lang) if others else None
    return nearest[0] if nearest is not None else float("-inf")


def real_differences(gate: RelevanceGate, data: Path, lang: str) -> np.ndarray:
    out = []
    for path in sorted((data / LANGUAGE_DIRS[lang]).glob("*.json")):
        turns = parse_yntp_bytes(path.read_bytes())
        for turn in turns:
            others = [t.message for t in turns if t.day != turn.day]
            out.append(difference(gate, turn.message, turn.response, others, lang))
    return np.asarray(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--share", type=float, default=0.03)
    args = parser.parse_args()
    gate = RelevanceGate()
    items, lines = load_check_set(), load_day_lines()
    for lang in LANGS:
        real = real_differences(gate, args.data, lang)
        margin = OTHER_QUESTION_MARGIN[lang]
        proposed = float(np.quantile(real, 1 - args.share))
        print(f"{lang}: {len(real)} real replies; margin for {args.share:.0%}: {proposed:.3f}")
        print(f"  at the margin {margin:.2f}: real replies flagged {np.mean(real > margin):.3f}")
        for label in LABELS:
            cell = [i for i in items if i.language == lang and i.label == label]
            diffs = np.asarray(
                [difference(gate, i.question, i.reply, other_days(i, lines), lang) for i in cell]
            )
            flagged = int(np.sum(diffs > margin))
            print(f"  check set {label:>14}: flagged {flagged / len(cell):.2f} ({flagged}/{len(cell)})")


if __name__ == "__main__":
    main()
