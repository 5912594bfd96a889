"""Memory benchmark (target 5): peak RSS of a local ``simulate`` with many personas.

Runs ``--personas`` personas for ``--days`` day(s) with the model ``simulate`` itself builds for those
options (by default one completion at a time with a 2 GiB KV state cache for concurrency > 1;
``--batched``: the batched multi-sequence model, one sequence per concurrent session), samples the resident set size twice a second together with the number
of finished sessions and the KV state cache's size, and extrapolates to 100 personas two ways:
naively (a straight line through the RSS of the second half of the run) and bounded (RSS after
loading + the state cache's cap + the growth per finished session of everything except the cache,
which is what a long run approaches: the cache stops growing at its cap and evicts the oldest states).

    .venv/bin/python -m bench.bench_memory [--personas 24] [--days 1] [--concurrency 4] [--batched]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.common import (
    current_rss_mb,
    load_average,
    markdown_table,
    peak_rss_mb,
    publish,
)

SECTION = "Memory (bench/bench_memory.py)"
TARGET_PERSONAS = 100


@dataclass
class MemoryFigures:
    model: str
    personas: int
    days: int
    concurrency: int
    start_mb: float  # after loading the model
    peak_mb: float
    slope_mb: float  # RSS growth per finished session
    other_slope_mb: float  # growth per finished session of the RSS minus the state cache
    cache_mb: float  # KV state cache in use at the end
    cache_cap_mb: float
    wall_s: float
    batched: bool
    load: str
    turns: int = 0
    failed: int = 0

    @property
    def naive_mb(self) -> float:
        return self.peak_mb + max(0.0, self.slope_mb) * max(0, TARGET_PERSONAS - self.personas)

    @property
    def extrapolated_mb(self) -> float:
        transient = self.peak_mb - self.start_mb - self.cache_mb  # the rest of this run's growth
        return (
            self.start_mb
            + self.cache_cap_mb
            + max(transient, max(0.0, self.other_slope_mb) * TARGET_PERSONAS)
        )


def run(
    *,
    model: str = "local:small",
    personas: int = 24,
    days: int = 1,
    concurrency: int = 4,
    batched: bool | None = None,
) -> MemoryFigures:
    from sharehouse.simulate import RunStats, SimulateOptions, build_planned_model, plan_models, run_simulate
    from sharehouse.store import Store

    opts = SimulateOptions(n_personas=personas, model=model, concurrency=concurrency, days=days, progress=False,
                           run_id=f"mem-{int(time.time())}", batched=batched)  # fmt: skip
    plan = plan_models(opts)
    chat = build_planned_model(plan.npc)  # exactly what run_simulate would build for these options
    chat.load()  # type: ignore[attr-defined]
    start_mb = current_rss_mb()
    stats = RunStats()
    samples: list[tuple[int, float, float]] = []
    done = threading.Event()
    inner = chat.inner  # type: ignore[attr-defined]
    cache = inner.state_cache

    def sample() -> None:
        while not done.wait(0.5):
            in_cache = cache.size_bytes / 2**20 if cache is not None else 0.0
            samples.append((stats.done + stats.failed, current_rss_mb(), in_cache))

    load = load_average()
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    with tempfile.TemporaryDirectory() as tmp, Store(Path(tmp) / "mem.duckdb") as store:
        started = time.perf_counter()
        try:
            asyncio.run(run_simulate(store, opts, npc_model=chat, stats=stats))
        finally:
            done.set()
            sampler.join()
        wall = time.perf_counter() - started
    half = [s for s in samples if s[0] >= personas // 2]
    slope = other = 0.0
    if len({s[0] for s in half}) >= 2:
        xs = np.array([s[0] for s in half], float)
        slope = float(np.polyfit(xs, np.array([s[1] for s in half], float), 1)[0])
        other = float(np.polyfit(xs, np.array([s[1] - s[2] for s in half], float), 1)[0])
    return MemoryFigures(
        model=model, personas=personas, days=days, concurrency=concurrency, start_mb=start_mb,
        peak_mb=peak_rss_mb(), slope_mb=slope, other_slope_mb=other, cache_mb=(cache.size_bytes / 2**20) if cache else 0.0,
        cache_cap_mb=(cache.capacity_bytes / 2**20) if cache else 0.0, wall_s=wall, turns=stats.turns,
        batched=bool(plan.npc.batched),
        failed=stats.failed,
        load=f"{load} → {load_average()}",
    )  # fmt: skip


def report(fig: MemoryFigures) -> str:
    rows = [
        ["RSS after loading the model", f"{fig.start_mb:.0f}", "—", fig.load],
        [f"peak RSS, {fig.personas} personas × {fig.days} day", f"{fig.peak_mb:.0f}", "—", fig.load],
        ["RSS growth per finished session (second half)", f"{fig.slope_mb:.1f}", "—", fig.load],
        ["… of which outside the state cache", f"{fig.other_slope_mb:.1f}", "—", fig.load],
        ["KV state cache in use / its cap", f"{fig.cache_mb:.0f} / {fig.cache_cap_mb:.0f}", "—", fig.load],
        [
            f"naive straight line to {TARGET_PERSONAS} personas (ignores the cap)",
            f"{fig.naive_mb:.0f}",
            "—",
            fig.load,
        ],
        [
            f"bounded estimate for {TARGET_PERSONAS} personas",
            f"{fig.extrapolated_mb:.0f}",
            "≤ 4096",
            fig.load,
        ],
    ]
    return (
        f"{fig.model} {'batched' if fig.batched else 'one call at a time'}, concurrency {fig.concurrency}, "
        f"{fig.turns} turns, {fig.failed} failed sessions, "
        f"wall {fig.wall_s:.0f} s. RSS in MiB. The state "
        "cache cannot grow past its cap, so start + cap + the per-session store/engine growth bounds any run.\n\n"
        + markdown_table(["figure", "MiB", "target", "load avg"], rows)
    )


def main(argv: Sequence[str] | None = None) -> MemoryFigures:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="local:small")
    parser.add_argument("--personas", type=int, default=24)
    parser.add_argument("--days", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument(
        "--batched", action=argparse.BooleanOptionalAction, default=None, help="default: as simulate decides"
    )
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    fig = run(
        model=args.model,
        personas=args.personas,
        days=args.days,
        concurrency=args.concurrency,
        batched=args.batched,
    )
    text = report(fig)
    publish(SECTION, text, write=not args.no_write)
    return fig


if __name__ == "__main__":
    main()
