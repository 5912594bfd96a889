"""Set the evasion floors of the reply check (sharehouse/engine/evasion.py) on the real people.

    .venv/bin/python scripts/calibrate_evasion.py [--data ../shared/yntp100] [--share 0.02]

For every real YNTP-100 reply (all five days) it takes the cosine to the nearest written evasion,
with the relevance gate's encoder for the language, and prints the cosine that flags ``--share``
of them (the proposed floor) and, for the floors in ``EVASION_FLOOR``, the share of real replies
flagged and the share of each class of the labelled check set flagged. The floors are pasted into
``EVASION_FLOOR`` by hand; the check never reads the data.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from sharehouse.engine.evasion import EVASION_FLOOR, EVASIONS
from sharehouse.engine.relevance import RELEVANCE_ENCODERS
from sharehouse.lang import LANGS
from sharehouse.realism.yntp import load_yntp_replies

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "yntp100"
CHECK_SET = ROOT / "tests" / "data" / "check_set.jsonl"


def nearest(texts: list[str], lang: str) -> np.ndarray:
    from evaluator.metrics.encoders import embed

    model = RELEVANCE_ENCODERS[lang]
    bank = embed(list(EVASIONS[lang]), model)
    vecs = embed(texts, model)
    return np.asarray((vecs @ bank.T).max(axis=1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--share", type=float, default=0.02)
    args = parser.parse_args()
    people = load_yntp_replies(args.data)
    items = [json.loads(line) for line in CHECK_SET.read_text(encoding="utf-8").splitlines() if line]
    for lang in LANGS:
        replies = [r for code, rs in people.values() if code == lang for r in rs]
        cos = nearest(replies, lang)
        floor = EVASION_FLOOR[lang]
        proposed = float(np.quantile(cos, 1 - args.share))
        print(f"{lang}: {len(replies)} real replies; floor for {args.share:.0%}: {proposed:.3f}")
        print(f"  at the floor {floor:.2f}: real replies flagged {np.mean(cos >= floor):.3f}")
        top = np.argsort(-cos)[:8]
        for i in top:
            print(f"    {cos[i]:.2f}  {replies[i][:90]!r}")
        sweep: dict[str, np.ndarray] = {}
        for label in ("answer", "non-answer", "off-topic", "other-question"):
            sub = [it["reply"] for it in items if it["language"] == lang and it["label"] == label]
            c = nearest(sub, lang)
            print(
                f"  check set {label:>14}: flagged {np.mean(c >= floor):.2f} ({int(np.sum(c >= floor))}/{len(c)})"
            )
            sweep.setdefault(label, c)
        print("  floor  real  " + "  ".join(f"{k[:10]:>10}" for k in sweep))
        for f in np.arange(0.40, 0.81, 0.05):
            row = "  ".join(f"{np.mean(c >= f):>10.2f}" for c in sweep.values())
            print(f"  {f:.2f}  {np.mean(cos >= f):.3f}  {row}")


if __name__ == "__main__":
    main()
