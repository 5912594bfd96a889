"""Simulated-user replies alone, against the real people: a fast loop for work on the user's prompt.

    .venv/bin/python -m bench.bench_user_replies [--model local] [--language ja] [--per-language 2]
        [--days 2] [--seed 0] [--show]

Each persona answers the scenario's own opening line of every state of the first ``--days`` days,
in play order, with its earlier replies as history: no housemate model and no check, so one model
call per reply (plus resamples). That is about a third of a ``bench_quality`` run's model time and
isolates what the user's prompt does. Printed per language: mean length (characters; words for
English), the length distance W/σ to the real YNTP-100 people, question-reply relevance, the share
of replies that only restate the question's option ("option copies": every content bigram of the
reply is in the stance's pole) and turns per model-minute. Nothing is written to the store or to
bench/RESULTS.md: a change this loop favours is then measured by ``bench.bench_quality``.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bench.bench_quality import DEFAULT_YNTP, pick_personas
from bench.common import load_average
from sharehouse.lang import LANGS


@dataclass
class Reply:
    persona: str
    state: str
    message: str
    pole: str
    text: str
    fallback: bool
    raw: list[str] = field(default_factory=list)


@dataclass
class LanguageFigures:
    language: str
    replies: list[Reply] = field(default_factory=list)
    model_s: float = 0.0


def option_copy(reply: str, pole: str) -> bool:
    """True when the reply says nothing beyond the option: at least ``OPTION_COPY`` of its words
    (CJK: character pairs) are in the pole, as the simulated user's own resampling test counts."""
    from sharehouse.personas.simulated import OPTION_COPY
    from sharehouse.textclean import share_in

    return bool(pole) and share_in(reply, pole) >= OPTION_COPY


async def play(model_spec: str, personas: Sequence[str], days: int, seed: int) -> dict[str, LanguageFigures]:
    from sharehouse.engine.relevance import default_gate
    from sharehouse.engine.users import PastTurn, TurnContext
    from sharehouse.llm.registry import load_model
    from sharehouse.personas.io import default_personas_path, load_personas
    from sharehouse.personas.simulated import SimulatedUser
    from sharehouse.scenario.load import default_scenario_path, load_scenario

    scenario = load_scenario(default_scenario_path())
    by_id = {p.id: p for p in load_personas(default_personas_path())}
    model = load_model(model_spec)
    gate = default_gate()  # as simulate: an attempt nearer the side its stance did not take is resampled
    out: dict[str, LanguageFigures] = {}
    for pid in personas:
        persona = by_id[pid]
        lang = persona.language
        figures = out.setdefault(lang, LanguageFigures(lang))
        user = SimulatedUser(persona, model, seed=seed, sides=gate)
        history: list[PastTurn] = []
        names = tuple(npc.name.get(lang) for npc in scenario.npcs)
        for day in range(1, days + 1):
            for state in scenario.day(day).ordered_states():
                npc = scenario.npc(state.npc).name.get(lang)
                poles = {k: v.get(lang) for k, v in state.poles.items()} if state.poles else None
                dim = None if state.mbti == "none" else state.mbti
                ctx = TurnContext(
                    lang, day, npc, state.opener.get(lang), list(history), names, state.id, dim, poles
                )
                began = time.perf_counter()
                got = await user.reply(ctx)
                figures.model_s += time.perf_counter() - began
                pole = (got.stance or {}).get("pole", "")
                figures.replies.append(
                    Reply(pid, state.id, ctx.message, pole, got.text, got.fallback, list(user.last_raw))
                )
                history.append(PastTurn(day, npc, ctx.message, got.text, state.id))
    return out


def real_lengths(yntp: Path, lang: str) -> list[int]:
    folder = {"en": "en", "ja": "jp", "zh": "cn"}[lang]
    lengths: list[int] = []
    for path in sorted((yntp / folder).glob("*.json")):
        for turns in json.loads(path.read_text(encoding="utf-8")).values():
            lengths += [len(t["response"]) for t in turns if t.get("response", "").strip()]
    return lengths


def summarise(figures: LanguageFigures, yntp: Path) -> dict[str, float | int | str]:
    import numpy as np
    from scipy.stats import wasserstein_distance

    from evaluator.metrics.encoders import embed
    from sharehouse.engine.relevance import RELEVANCE_ENCODERS

    replies = [r for r in figures.replies if r.text.strip()]
    real = real_lengths(yntp, figures.language)
    sim = [len(r.text) for r in replies]
    encoder = RELEVANCE_ENCODERS[figures.language]
    lines = embed([r.message for r in replies], encoder)
    texts = embed([r.text for r in replies], encoder)
    return {
        "language": figures.language,
        "replies": len(replies),
        "mean chars": round(float(np.mean(sim)), 1),
        "real mean chars": round(float(np.mean(real)), 1),
        "length W/σ": round(wasserstein_distance(sim, real) / float(np.std(real)), 3),
        "relevance": round(float(np.mean(np.einsum("ij,ij->i", lines, texts))), 3),
        "option copies": round(sum(option_copy(r.text, r.pole) for r in replies) / len(replies), 3),
        "fallbacks": sum(r.fallback for r in figures.replies),
        "replies per model-min": round(len(figures.replies) / (figures.model_s / 60), 2),
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="local")
    parser.add_argument("--language", choices=LANGS, action="append", help="repeatable (default: all)")
    parser.add_argument("--per-language", type=int, default=2)
    parser.add_argument("--days", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--yntp", type=Path, default=DEFAULT_YNTP)
    parser.add_argument("--show", action="store_true", help="print every reply")
    parser.add_argument("--out", type=Path, default=None, help="write every reply as JSON lines here")
    parser.add_argument("--raw", action="store_true", help="with --show: the model's raw attempts too")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    languages = args.language or list(LANGS)
    personas = [
        p for p in pick_personas(args.per_language) if any(p.startswith(f"p-{x}-") for x in languages)
    ]
    load = load_average()
    figures = asyncio.run(play(args.model, personas, args.days, args.seed))
    if args.out is not None:
        with args.out.open("w", encoding="utf-8") as fh:
            for lang_figures in figures.values():
                for r in lang_figures.replies:
                    fh.write(json.dumps(dataclasses.asdict(r), ensure_ascii=False) + "\n")
    for lang in languages:
        if lang not in figures:
            continue
        if args.show:
            for r in figures[lang].replies:
                print(f"{r.persona} {r.state}: {r.text}")
                if args.raw:
                    print("    raw: " + " | ".join(repr(x) for x in r.raw))
        print(json.dumps(summarise(figures[lang], args.yntp), ensure_ascii=False))
    print(f"load {load} -> {load_average()}")


if __name__ == "__main__":
    main()
