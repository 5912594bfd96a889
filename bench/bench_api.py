"""API-path benchmark (target 4): ``simulate`` against a local OpenAI-compatible server with a fixed
latency per call, at high concurrency. Ideal wall time = calls × latency / concurrency (every call
waits the full latency and the sessions keep ``concurrency`` calls in flight); the figure is
ideal / measured.

    .venv/bin/python -m bench.bench_api [--personas 32] [--concurrency 32] [--days 2] [--latency 1.0]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.common import load_average, markdown_table, publish
from bench.fake_openai import FakeOpenAI

SECTION = "API path (bench/bench_api.py)"


@dataclass
class ApiFigures:
    personas: int
    concurrency: int
    days: int
    latency_s: float
    calls: int
    wall_s: float
    cpu_s: float  # CPU time of this process (event loop, litellm, store, the fake server's threads)
    max_in_flight: int
    turns: int
    failed: int
    load: str

    @property
    def ideal_s(self) -> float:
        # Each session's calls are sequential: no schedule beats the longest session's chain either.
        return self.calls * self.latency_s / min(self.concurrency, self.personas)

    @property
    def efficiency(self) -> float:
        return self.ideal_s / self.wall_s if self.wall_s else 0.0


def run(*, personas: int = 32, concurrency: int = 32, days: int = 2, latency_s: float = 1.0) -> ApiFigures:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # never fetch the price list
    from sharehouse.llm import GenParams, load_model
    from sharehouse.simulate import SimulateOptions, run_simulate
    from sharehouse.store import Store

    load = load_average()
    with FakeOpenAI(latency_s) as server, tempfile.TemporaryDirectory() as tmp:
        opts = SimulateOptions(
            n_personas=personas, model="litellm:openai/fake-model", api_base=server.api_base,
            concurrency=concurrency, days=days, progress=False, run_id=f"api-{int(time.time())}",
        )  # fmt: skip
        model = load_model(opts.model, api_base=server.api_base)  # litellm's import is not part of the rate
        warm = [{"role": "user", "content": "hello"}]
        asyncio.run(model.complete(warm, GenParams(max_tokens=8)))  # nor are its lazy first-call imports
        server.requests = 0
        with Store(Path(tmp) / "api.duckdb") as store:
            started, cpu = time.perf_counter(), time.process_time()
            result = asyncio.run(run_simulate(store, opts, npc_model=model))
            wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    return ApiFigures(
        personas=personas, concurrency=concurrency, days=days, latency_s=latency_s, calls=server.requests,
        wall_s=wall, cpu_s=cpu, max_in_flight=server.max_in_flight, turns=result.stats.turns, failed=result.stats.failed,
        load=f"{load} → {load_average()}",
    )  # fmt: skip


def report(fig: ApiFigures) -> str:
    rows = [
        ["calls served", fig.calls, "—", fig.load],
        ["most calls in flight at once", fig.max_in_flight, f"{fig.concurrency}", fig.load],
        ["ideal wall s (calls × latency / concurrency)", f"{fig.ideal_s:.1f}", "—", fig.load],
        ["measured wall s", f"{fig.wall_s:.1f}", "—", fig.load],
        ["process CPU s during the run", f"{fig.cpu_s:.1f}", "—", fig.load],
        ["ideal / measured", f"{fig.efficiency:.0%}", "≥ 80%", fig.load],
    ]
    return (
        f"{fig.personas} personas × {fig.days} day(s), concurrency {fig.concurrency}, "
        f"{fig.latency_s:g} s per call on a loopback server (bench/fake_openai.py); {fig.turns} turns, "
        f"{fig.failed} failed sessions.\n\n" + markdown_table(["figure", "value", "target", "load avg"], rows)
    )


def main(argv: Sequence[str] | None = None) -> ApiFigures:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--personas", type=int, default=32)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--days", type=int, default=2)
    parser.add_argument("--latency", type=float, default=1.0)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    fig = run(personas=args.personas, concurrency=args.concurrency, days=args.days, latency_s=args.latency)
    text = report(fig)
    publish(SECTION, text, write=not args.no_write and math.isfinite(fig.efficiency))
    return fig


if __name__ == "__main__":
    main()
