"""Local ``simulate`` benchmark: prefix reuse (target 1), time outside the model (target 3), peak RSS.

Runs ``run_simulate`` on a packaged local model with several sessions interleaved, every call
recorded per session: prompt tokens, the tokens new since that session's earlier prompts and
answers (the least any per-session cache can evaluate), and the tokens llama.cpp really evaluated.
The model is the one ``simulate`` builds for the same options (one completion at a time unless
``--batched``, with simulate's state cache budget unless ``--ram-cache-mb``).

    .venv/bin/python -m bench.bench_simulate [--personas 3] [--concurrency 3] [--days 5]
        [--model local:small] [--batched | --no-batched] [--ram-cache-mb 1536] [--no-write]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.common import (
    RecordingModel,
    load_average,
    machine_line,
    markdown_table,
    peak_rss_mb,
    write_section,
)

SECTION = "Local simulate: prefix reuse, overhead, memory (bench/bench_simulate.py)"


@dataclass
class SimulateFigures:
    label: str
    calls: int
    sessions: int
    wall_s: float
    model_s: float  # sum of call latencies (the model's own time)
    prompt_tokens: int
    new_tokens: int
    evaluated_tokens: int
    per_day: dict[int, tuple[int, float, float, float]]  # day -> (calls, prompt, new, evaluated) per call
    peak_rss_mb: float
    load: str
    turns: int

    @property
    def reuse_ratio(self) -> float:
        return self.evaluated_tokens / max(1, self.new_tokens)

    @property
    def overhead_share(self) -> float:
        return max(0.0, 1.0 - self.model_s / self.wall_s) if self.wall_s else 0.0


def run(
    *,
    model: str = "local:small",
    personas: int = 3,
    concurrency: int = 3,
    days: int = 5,
    batched: bool | None = None,
    ram_cache_mb: int | None = None,
    label: str = "",
) -> SimulateFigures:
    from sharehouse.simulate import SimulateOptions, build_planned_model, plan_models, run_simulate
    from sharehouse.store import Store

    opts = SimulateOptions(
        n_personas=personas, model=model, concurrency=concurrency, days=days, progress=False, seed=7,
        run_id=f"bench-{int(time.time())}", batched=batched,
        ram_cache_bytes=None if ram_cache_mb is None else ram_cache_mb << 20,
    )  # fmt: skip
    plan = plan_models(opts)
    batched = bool(plan.npc.batched)
    base = build_planned_model(plan.npc)  # what run_simulate builds for these options
    base.inner.load()  # type: ignore[attr-defined]
    recorder = RecordingModel(base, tokenize=base.inner.prompt_tokens)  # type: ignore[attr-defined]
    load = load_average()
    with tempfile.TemporaryDirectory() as tmp, Store(Path(tmp) / "bench.duckdb") as store:
        started = time.perf_counter()
        result = asyncio.run(run_simulate(store, opts, npc_model=recorder))
        wall = time.perf_counter() - started
        turns = result.stats.turns
    calls = recorder.calls
    by_day: dict[int, list] = defaultdict(list)
    for c in calls:
        by_day[c.day or 0].append(c)
    per_day = {
        d: (len(cs), sum(c.prompt_tokens for c in cs) / len(cs), sum(c.new_tokens for c in cs) / len(cs),
            sum(c.evaluated or 0 for c in cs) / len(cs))
        for d, cs in sorted(by_day.items())
    }  # fmt: skip
    return SimulateFigures(
        label=label or f"{model}{' batched' if batched else ''}, {personas} sessions, concurrency {concurrency}",
        calls=len(calls), sessions=personas, wall_s=wall, model_s=sum(c.latency_s for c in calls),
        prompt_tokens=sum(c.prompt_tokens for c in calls), new_tokens=sum(c.new_tokens for c in calls),
        evaluated_tokens=sum(c.evaluated or 0 for c in calls), per_day=per_day, peak_rss_mb=peak_rss_mb(),
        load=f"{load} → {load_average()}", turns=turns,
    )  # fmt: skip


def day_table(fig: SimulateFigures) -> str:
    rows = [
        [d, n, f"{p:.0f}", f"{new:.0f}", f"{ev:.0f}", f"{ev / max(new, 1e-9):.2f}"]
        for d, (n, p, new, ev) in fig.per_day.items()
    ]
    return markdown_table(
        ["day", "calls", "prompt tok/call", "new tok/call", "evaluated tok/call", "ratio"], rows
    )


def summary_rows(fig: SimulateFigures) -> list[list[str]]:
    return [
        ["prefix reuse: evaluated / new prompt tokens", f"{fig.reuse_ratio:.2f}", "≤ 1.3", fig.load],
        ["time outside the model / wall", f"{fig.overhead_share:.1%}", "≤ 5%", fig.load],
        ["peak RSS (MiB)", f"{fig.peak_rss_mb:.0f}", "—", fig.load],
    ]


def report(fig: SimulateFigures) -> str:
    return "\n".join(
        [
            f"Run: {fig.label}; {fig.turns} turns, {fig.calls} model calls, wall {fig.wall_s:.0f} s, "
            f"in the model {fig.model_s:.0f} s; prompt tokens {fig.prompt_tokens}, new {fig.new_tokens}, "
            f"evaluated {fig.evaluated_tokens}; load average {fig.load}.",
            "",
            day_table(fig),
        ]
    )


def main(argv: Sequence[str] | None = None) -> SimulateFigures:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="local:small")
    parser.add_argument("--personas", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=3)
    parser.add_argument("--days", type=int, default=5)
    parser.add_argument(
        "--batched", action=argparse.BooleanOptionalAction, default=None, help="default: as simulate decides"
    )
    parser.add_argument("--ram-cache-mb", type=int, default=None)
    parser.add_argument("--label", default="")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    fig = run(
        model=args.model, personas=args.personas, concurrency=args.concurrency, days=args.days,
        batched=args.batched, ram_cache_mb=args.ram_cache_mb, label=args.label,
    )  # fmt: skip
    text = report(fig)
    print(text)
    print(markdown_table(["figure", "value", "target", "load avg"], summary_rows(fig)))
    if not args.no_write:
        write_section(
            SECTION,
            "Machine: " + machine_line() + "\n\n" + text + "\n\n"
            + markdown_table(["figure", "value", "target", "load avg"], summary_rows(fig)),
        )  # fmt: skip
    return fig


if __name__ == "__main__":
    main()
