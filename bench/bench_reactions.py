"""Housemate reactions alone: a fast loop for work on the ``react`` prompt and its guard.

    .venv/bin/python -m bench.bench_reactions [--model local] [--language ja] [--n 20]
        [--db sessions/run.duckdb --run RUN] [--seed 0] [--show]

A housemate line in the ``react`` way is a one-sentence reaction to the player's last answer, then
the scenario's question (:mod:`sharehouse.engine.reaction`). This bench feeds
:func:`sharehouse.engine.npc.generate_line` exchanges to react to and counts what the guard does
with the model's attempts: the share of lines whose first attempt stands, the share that fall back
to the scenario's question alone (every attempt rejected; the quality target is at most 10 %), and
why attempts were rejected (``echo``: the answer said back, ``repeat``, ``question``, ...).

The exchanges are the real YNTP-100 people's (their housemate's question and their own answer, so
a reaction is tried on what a human player writes), drawn with ``--seed``; with ``--db`` they are a
stored run's turns instead (the exact situations a simulated session met). The reacting housemate
asks the scenario's next question of the same day. Nothing is written: a change this loop favours
is then measured by ``bench.bench_quality``.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import random
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bench.bench_quality import DEFAULT_YNTP
from bench.common import load_average
from sharehouse.lang import LANGS

_FOLDER = {"en": "en", "ja": "jp", "zh": "cn"}


@dataclass(frozen=True)
class Exchange:
    asker: str
    question: str
    answer: str


@dataclass
class Reaction:
    exchange: Exchange
    question: str  # the scenario's question the reaction leads into
    line: str
    fallback: bool
    rejected: list[str]
    calls: int


@dataclass
class LanguageFigures:
    language: str
    reactions: list[Reaction] = field(default_factory=list)
    model_s: float = 0.0


def real_exchanges(yntp: Path, lang: str, n: int, seed: int) -> list[Exchange]:
    """``n`` of the real people's exchanges (their housemate's line and their non-empty answer)."""
    pool: list[Exchange] = []
    for path in sorted((yntp / _FOLDER[lang]).glob("*.json")):
        for turns in json.loads(path.read_text(encoding="utf-8")).values():
            pool += [
                Exchange(t["speaker"], t["message"], t["response"])
                for t in turns
                if t.get("response", "").strip() and t.get("message", "").strip()
            ]
    return random.Random(seed).sample(pool, min(n, len(pool)))


def stored_exchanges(db: Path, run_id: str | None, lang: str, n: int) -> list[Exchange]:
    """The first ``n`` turns of a stored run in ``lang`` (the housemate's line and the reply)."""
    from sharehouse.store import Store

    out: list[Exchange] = []
    with Store(db, read_only=True) as store:
        for rec in store.list_sessions(run_id=run_id):
            if rec.language != lang:
                continue
            out += [Exchange(t.npc, t.message, t.response) for t in store.load_turns(rec.id)]
    return out[:n]


async def react(
    model_spec: str, exchanges: dict[str, list[Exchange]], seed: int = 0
) -> dict[str, LanguageFigures]:
    from sharehouse.engine.npc import MAX_ATTEMPTS, generate_line
    from sharehouse.engine.session import EngineParams
    from sharehouse.engine.users import PastTurn
    from sharehouse.llm.registry import load_model
    from sharehouse.scenario.load import default_scenario_path, load_scenario

    scenario = load_scenario(default_scenario_path())
    model = load_model(model_spec)
    # (a day, its state whose question follows the reaction): every state that is not a day's first
    follow_on = [
        (day, state)
        for day in range(1, 6)
        for state in scenario.day(day).ordered_states()[1:]
    ]  # fmt: skip
    player = {"en": "Sam", "ja": "サム", "zh": "小山"}
    out: dict[str, LanguageFigures] = {}
    for lang, items in exchanges.items():
        figures = out.setdefault(lang, LanguageFigures(lang))
        for i, ex in enumerate(items):
            day, state = follow_on[i % len(follow_on)]
            history = [PastTurn(day, ex.asker, ex.question, ex.answer)]
            began = time.perf_counter()
            # sampled as a session samples: its own seed per line, the next one per regeneration
            params = dataclasses.replace(EngineParams().npc, seed=seed + i * 7)
            line = await generate_line(
                model, scenario, state, lang, day, history, player=player[lang], params=params
            )
            figures.model_s += time.perf_counter() - began
            calls = len(line.rejected) + (0 if line.fallback else 1)
            figures.reactions.append(
                Reaction(
                    ex,
                    state.opener.get(lang),
                    line.text,
                    line.fallback,
                    list(line.rejected),
                    min(calls, MAX_ATTEMPTS),
                )  # fmt: skip
            )
    return out


def summarise(figures: LanguageFigures) -> dict[str, object]:
    rs = figures.reactions
    reasons = Counter(r for x in rs for r in x.rejected)
    calls = sum(x.calls for x in rs)
    return {
        "language": figures.language,
        "lines": len(rs),
        "first attempt stands": round(sum(not x.rejected for x in rs) / len(rs), 3),
        "fallbacks": round(sum(x.fallback for x in rs) / len(rs), 3),
        "calls per line": round(calls / len(rs), 2),
        "rejected attempts": dict(reasons.most_common()),
        "echo per attempt": round(reasons["echo"] / calls, 3),
        "lines per model-min": round(len(rs) / (figures.model_s / 60), 2),
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="local")
    parser.add_argument("--language", choices=LANGS, action="append", help="repeatable (default: all)")
    parser.add_argument("--n", type=int, default=20, help="exchanges per language (default 20)")
    parser.add_argument("--seed", type=int, default=0, help="draws the real exchanges and seeds the sampling")
    parser.add_argument("--yntp", type=Path, default=DEFAULT_YNTP)
    parser.add_argument("--db", type=Path, default=None, help="react to a stored run's turns instead")
    parser.add_argument("--run", default=None, help="with --db: the run id (default: every session)")
    parser.add_argument("--show", action="store_true", help="print every exchange and line")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    languages = args.language or list(LANGS)
    exchanges = {
        lang: stored_exchanges(args.db, args.run, lang, args.n)
        if args.db is not None
        else real_exchanges(args.yntp, lang, args.n, args.seed)
        for lang in languages
    }
    load = load_average()
    figures = asyncio.run(react(args.model, exchanges, args.seed))
    for lang in languages:
        if not figures.get(lang) or not figures[lang].reactions:
            continue
        if args.show:
            for r in figures[lang].reactions:
                print(f"Q: {r.exchange.question[:80]}\nA: {r.exchange.answer[:120]}")
                print(f"-> {'(fallback) ' if r.fallback else ''}{r.line[:160]}  {r.rejected or ''}\n")
        print(json.dumps(summarise(figures[lang]), ensure_ascii=False))
    print(f"load {load} -> {load_average()}")


if __name__ == "__main__":
    main()
