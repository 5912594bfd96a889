"""``make bench``: every benchmark in turn, a summary table, and bench/RESULTS.md rewritten section by
section (other sections are kept).

    .venv/bin/python -m bench.run_all [--quick] [--skip-scoring] [--model small]

``--quick`` runs the small versions (minutes); the default sizes take about an hour on a loaded
two-core machine. Each figure is printed with the load average it was measured under.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence

from bench.common import ROOT, machine_line, markdown_table, write_section

SECTION = "Summary (bench/run_all.py)"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small runs (a few minutes in all)")
    parser.add_argument("--skip-scoring", action="store_true", help="leave out bench/bench_scoring.py")
    parser.add_argument("--model", default="small", help="packaged local model for the local benchmarks")
    args = parser.parse_args(argv)
    for name, value in (("LITELLM_LOCAL_MODEL_COST_MAP", "True"), ("HF_HUB_OFFLINE", "1"),
                        ("TRANSFORMERS_OFFLINE", "1"), ("TOKENIZERS_PARALLELISM", "false")):  # fmt: skip
        os.environ.setdefault(name, value)

    from bench import bench_api, bench_batch, bench_evaluate, bench_memory, bench_quality, bench_simulate

    spec = f"local:{args.model}"
    quick = args.quick
    rows: list[list[str]] = []
    started = time.perf_counter()

    batch = bench_batch.main(["--model", args.model, "--rounds", "1" if quick else "3",
                              "--tokens", "32" if quick else "64"])  # fmt: skip
    rows += [[f"raw llama.cpp single stream ({spec})", f"{_median(batch.raw_tps):.1f} tok/s", "reference", batch.load],
             [f"batched: {batch.sessions} concurrent / raw single stream (decode only: {batch.ratio_decode_raw:.2f}×)",
              f"{batch.ratio_raw:.2f}×", "≥ 2×", batch.load],
             [f"batched: {batch.sessions} concurrent / 1 batched call", f"{batch.ratio:.2f}×", "—", batch.load]]  # fmt: skip

    sim = bench_simulate.main(["--model", spec, "--personas", "2",
                               "--concurrency", "2", "--days", "1" if quick else "5"])  # fmt: skip
    rows += [["prefix reuse: evaluated / new prompt tokens", f"{sim.reuse_ratio:.2f}", "≤ 1.3", sim.load],
             ["time outside the model / wall (local simulate)", f"{sim.overhead_share:.1%}", "≤ 5%", sim.load]]  # fmt: skip

    qual = bench_quality.main(["--model", spec, *(["--quick"] if quick else [])])
    for lang in qual.report.languages:
        failed = [t.measure for t in lang.targets if t.passed is False]
        rows += [[f"dialogue quality {lang.language}, {len(qual.personas)} personas × {qual.days} days ({spec})",
                  "all targets met" if not failed else "missed: " + ", ".join(failed), "issue 13 targets", qual.load]]  # fmt: skip
    rows += [[f"simulate turns per minute ({spec}, quality run)", bench_quality.fmt_rate(qual.turns_per_min),
              "≥ 2 (local, 1 thread)", qual.load]]  # fmt: skip

    mem = bench_memory.main(["--model", spec, "--personas", "8" if quick else "16", "--days", "1"])
    rows += [[f"peak RSS, {mem.personas} personas × {mem.days} day → 100 (extrapolated)",
              f"{mem.peak_mb:.0f} MiB → {mem.extrapolated_mb:.0f} MiB", "≤ 4096 MiB", mem.load]]  # fmt: skip

    api = bench_api.main(["--days", "1" if quick else "2"])
    rows += [["API path at concurrency 32: ideal / measured", f"{api.efficiency:.0%}", "≥ 80%", api.load]]

    quick_eval = ["--per-language", "1", "--limit-turns", "1", "--max-tokens", "32", "--lora-steps", "2",
                  "--label", "Quick run (bench/run_all.py --quick; understates a full run): "]  # fmt: skip
    ev = bench_evaluate.main(["--model", spec, *(quick_eval if quick else [])])
    ev_load = f"{ev.load_start} → {ev.load_end}"
    rows += [[f"prompting methods × {ev.total_users} users ({spec}), extrapolated from {ev.sampled_users}",
              bench_evaluate.fmt_duration(ev.estimate_s), "—", ev_load]]  # fmt: skip
    if ev.lora is not None:
        rows += [[f"one LoRA user, fit {ev.lora.steps} steps + predict", bench_evaluate.fmt_duration(ev.lora.total_s),
                  "—", ev_load]]  # fmt: skip

    if not args.skip_scoring:
        from bench import bench_scoring

        sc = bench_scoring.main(["--per-language", "3", "--naive-sample", "4"] if quick else [])
        new, cold = sc.runs[2], sc.runs[0]
        rows += [[f"scoring {sc.pairs} day-5 turns: time outside the encoders, new predictions (cold)",
                  f"{new.rest_share:.0%} ({cold.rest_share:.0%})", "≤ 20%", sc.load],
                 ["scoring: naive per-pair / batched, new predictions", f"{sc.naive_total_s / new.wall_s:.1f}×",
                  "—", sc.load]]  # fmt: skip

    table = markdown_table(["figure", "value", "target", "load avg (start → end)"], rows)
    print(table)
    write_section(
        SECTION,
        f"Machine: {machine_line()}\n\n{'Quick' if quick else 'Full'} run, {time.perf_counter() - started:.0f} s "
        f"in all; details in the sections below.\n\n{table}",
    )
    print(f"wrote {ROOT / 'bench' / 'RESULTS.md'}")
    return 0


def _median(xs: list[float]) -> float:
    import statistics

    return statistics.median(xs)


if __name__ == "__main__":
    sys.exit(main())
