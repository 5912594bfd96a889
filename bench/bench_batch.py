"""Batched decoding benchmark (target 2) and the raw llama.cpp single-stream reference.

Three measurements of the same packaged model, alternated for ``--rounds`` rounds so that the
machine's changing load hits all of them alike:

- raw: llama-cpp-python's ``Llama`` generating one completion, rate from llama.cpp's own timer
  (``llama_perf_context``: generated tokens / decode time, prompt excluded);
- single: one call through :class:`~sharehouse.llm.batch.BatchedLocalModel` (generated tokens /
  call latency, prompt included);
- batched: ``--sessions`` concurrent calls (different prompts, like different sessions) through
  the same model (all generated tokens / wall time, the prompts' prefill included);
- batched, decode only: the same calls' generated tokens / the time of the decode steps that only
  generated (llama_decode + sampling, no prompt tokens in the batch), which is what the raw figure
  measures for one stream.

All three use the same weights, the same number of llama.cpp threads and the same machine.

    .venv/bin/python -m bench.bench_batch [--model small] [--sessions 4] [--tokens 48] [--rounds 2]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from bench.common import load_average, markdown_table, publish

SECTION = "Batched decoding (bench/bench_batch.py)"
TOPICS = ("a cat who learns to cook", "a lighthouse keeper", "a train that runs late", "a garden on a roof",
          "a lost umbrella", "a chess club", "a night market", "a robot gardener")  # fmt: skip


@dataclass
class BatchFigures:
    model: str
    sessions: int
    tokens: int
    threads: int
    raw_tps: list[float]
    single_tps: list[float]
    batched_tps: list[float]
    load: str
    batched_decode_tps: list[float] = field(default_factory=list)

    @property
    def ratio(self) -> float:
        return statistics.median(self.batched_tps) / statistics.median(self.single_tps)

    @property
    def ratio_raw(self) -> float:
        return statistics.median(self.batched_tps) / statistics.median(self.raw_tps)

    @property
    def ratio_decode_raw(self) -> float:
        return statistics.median(self.batched_decode_tps) / statistics.median(self.raw_tps)


def _messages(i: int, rnd: int) -> list[dict[str, str]]:
    topic = TOPICS[i % len(TOPICS)]
    return [
        {"role": "system", "content": f"You are storyteller number {i}. You write long, vivid stories."},
        {"role": "user", "content": f"Round {rnd}: tell a long story about {topic}. Do not stop early."},
    ]


def _raw_rate(llm: object, rnd: int, tokens: int) -> float:
    import llama_cpp

    llm.reset()  # type: ignore[attr-defined]
    llama_cpp.llama_perf_context_reset(llm._ctx.ctx)  # type: ignore[attr-defined]
    llm.create_chat_completion(messages=_messages(0, rnd), max_tokens=tokens, temperature=0.7, seed=rnd)  # type: ignore[attr-defined]
    perf = llama_cpp.llama_perf_context(llm._ctx.ctx)  # type: ignore[attr-defined]
    return perf.n_eval / max(perf.t_eval_ms / 1000, 1e-9)


def run(*, model: str = "small", sessions: int = 4, tokens: int = 48, rounds: int = 2) -> BatchFigures:
    from sharehouse.llm.base import GenParams
    from sharehouse.llm.batch import BatchedLocalModel
    from sharehouse.llm.local import LocalModel
    from sharehouse.llm.models import ensure_model

    base = LocalModel(ensure_model(model), name=f"local:{model}")
    batched = BatchedLocalModel(base, n_seq=sessions)
    batched.load()
    load = load_average()
    raw, single, multi, multi_decode = [], [], [], []

    async def one(i: int, rnd: int) -> int:
        comp = await batched.complete(
            _messages(i, rnd), GenParams(max_tokens=tokens, temperature=0.7, seed=i)
        )
        return comp.completion_tokens

    async def measure(rnd: int) -> None:
        started = time.perf_counter()
        n = await one(sessions, rnd)
        single.append(n / (time.perf_counter() - started))
        started = time.perf_counter()
        secs, toks = batched.generate_only_s, batched.generate_only_tokens
        counts = await asyncio.gather(*(one(i, rnd) for i in range(sessions)))
        multi.append(sum(counts) / (time.perf_counter() - started))
        multi_decode.append((batched.generate_only_tokens - toks) / max(batched.generate_only_s - secs, 1e-9))

    try:
        for rnd in range(rounds):
            raw.append(_raw_rate(base.llama, rnd, tokens))
            asyncio.run(measure(rnd))
    finally:
        batched.close()
        base.close()
    return BatchFigures(model=f"local:{model}", sessions=sessions, tokens=tokens, threads=base.n_threads,
                        raw_tps=raw, single_tps=single, batched_tps=multi, batched_decode_tps=multi_decode,
                        load=f"{load} → {load_average()}")  # fmt: skip


def rows(fig: BatchFigures) -> list[list[str]]:
    def fmt(xs: list[float]) -> str:
        return f"{statistics.median(xs):.1f} ({', '.join(f'{x:.1f}' for x in xs)})"

    return [
        ["raw llama.cpp single stream (decode only)", fmt(fig.raw_tps), "reference", fig.load],
        ["BatchedLocalModel, 1 call (prompt included)", fmt(fig.single_tps), "—", fig.load],
        [f"BatchedLocalModel, {fig.sessions} concurrent calls", fmt(fig.batched_tps), "—", fig.load],
        [f"BatchedLocalModel, {fig.sessions} concurrent calls, decode only", fmt(fig.batched_decode_tps), "—",
         fig.load],
        [f"ratio {fig.sessions} concurrent / 1 call", f"{fig.ratio:.2f}×", "≥ 2×", fig.load],
        [f"ratio {fig.sessions} concurrent / raw single stream", f"{fig.ratio_raw:.2f}×", "≥ 2×", fig.load],
        [f"ratio {fig.sessions} concurrent, decode only / raw single stream (decode only)",
         f"{fig.ratio_decode_raw:.2f}×", "≥ 2×", fig.load],
    ]  # fmt: skip


def report(fig: BatchFigures) -> str:
    header = ["figure", "generated tok/s: median (rounds)", "target", "load avg"]
    return (
        f"{fig.model}, {fig.tokens} tokens per call, {fig.threads} llama.cpp thread(s), "
        f"{len(fig.raw_tps)} alternating rounds.\n\n" + markdown_table(header, rows(fig))
    )


def main(argv: Sequence[str] | None = None) -> BatchFigures:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="small")
    parser.add_argument("--sessions", type=int, default=4)
    parser.add_argument("--tokens", type=int, default=48)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    fig = run(model=args.model, sessions=args.sessions, tokens=args.tokens, rounds=args.rounds)
    text = report(fig)
    publish(SECTION, text, write=not args.no_write)
    return fig


if __name__ == "__main__":
    main()
