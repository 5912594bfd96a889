"""How calls spread over two servers of one model: litellm's Router (``routing_strategy="least-busy"``)
against sharehouse's endpoint pool (:mod:`sharehouse.llm.endpoints`), on two loopback fake servers.

Three patterns, each on fresh servers: calls one after another, a burst of calls at once (as a
``simulate --concurrency N`` run starts), and a few workers each making calls in turn. Prints how
many requests each server got. Nothing leaves 127.0.0.1.

    .venv/bin/python -m bench.bench_endpoints [--calls 20] [--workers 4] [--latency 0.2]
"""

from __future__ import annotations

import argparse
import asyncio
import os
from collections.abc import Awaitable, Callable

from bench.fake_openai import FakeOpenAI
from sharehouse.llm.base import Message

MESSAGES: list[Message] = [{"role": "user", "content": "hi"}]
MAX_TOKENS = 8

Call = Callable[[], Awaitable[object]]


def litellm_router(bases: list[str]) -> Call:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    from litellm import Router

    router = Router(
        model_list=[
            {
                "model_name": "m",
                "litellm_params": {"model": "openai/fake", "api_base": base, "api_key": "none"},
            }
            for base in bases
        ],
        routing_strategy="least-busy",
    )
    return lambda: router.acompletion(model="m", messages=MESSAGES, max_tokens=MAX_TOKENS)  # type: ignore[arg-type]


def sharehouse_pool(bases: list[str]) -> Call:
    from sharehouse.llm import GenParams, load_model

    model = load_model("openai/fake", api_base=",".join(bases))
    return lambda: model.complete(MESSAGES, GenParams(max_tokens=MAX_TOKENS))


async def pattern(name: str, call: Call, calls: int, workers: int) -> None:
    if name == "one at a time":
        for _ in range(calls):
            await call()
    elif name == "all at once":
        await asyncio.gather(*(call() for _ in range(calls)))
    else:

        async def worker() -> None:
            for _ in range(calls // workers):
                await call()

        await asyncio.gather(*(worker() for _ in range(workers)))


async def main_async(calls: int, workers: int, latency: float) -> None:
    patterns = ["one at a time", "all at once", f"{workers} workers in turn"]
    print(f"{'router':<28} {'pattern':<20} requests per server")
    for label, build in (("litellm Router least-busy", litellm_router), ("sharehouse pool", sharehouse_pool)):
        for name in patterns:
            with FakeOpenAI(latency) as a, FakeOpenAI(latency) as b:
                await pattern(name, build([a.api_base, b.api_base]), calls, workers)
                print(f"{label:<28} {name:<20} {a.requests} / {b.requests}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20, help="Calls per pattern.")
    parser.add_argument("--workers", type=int, default=4, help="Workers of the third pattern.")
    parser.add_argument(
        "--latency", type=float, default=0.2, help="Seconds each fake server takes per answer."
    )
    args = parser.parse_args()
    asyncio.run(main_async(args.calls, args.workers, args.latency))


if __name__ == "__main__":
    main()
