"""Model calls and tokens per simulated session, by language: the inputs of the capacity plan
(docs/scaling.md).

Two ways to get them:

- ``--db FILE`` reads sessions already stored (open a copy: the file is opened read-only, but a
  running writer holds it). The store keeps one ``llm_calls`` row per turn and purpose (housemate,
  simulated user, check) with the usage of the call whose text was used; calls whose text was thrown
  away are not logged. They are counted from the turn: ``npc_rejected`` housemate lines rejected
  by the guard, ``reply_resampled`` simulated-user replies resampled; each is charged the prompt of
  the kept call of its purpose (a retry sends the same messages). A simulated reply found unusable
  (empty, wrong script) is counted nowhere, so these counts are a lower bound.
- ``--play`` plays personas on a real model with a counting wrapper around it, which sees every call,
  then reads the same figures back from the store it wrote, so the two ways can be compared.

Per session: turns, calls, prompt and completion tokens, by purpose; and per turn and day, so that
sessions stored over fewer than five days can be carried to five (:func:`per_day`).

    .venv/bin/python -m bench.bench_capacity --db /tmp/copy.duckdb
    .venv/bin/python -m bench.bench_capacity --play --persona p-en-001 --persona p-ja-001 \
        --persona p-zh-001 --days 5 --model local --out /tmp/capacity.duckdb
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.common import load_average, markdown_table, publish
from sharehouse.llm.base import ChatModel, Completion, GenParams, Message

SECTION = "Capacity inputs: calls and tokens per session (bench/bench_capacity.py)"
PURPOSES: tuple[str, ...] = ("npc", "user", "check")


@dataclass
class Usage:
    """Calls and tokens of one purpose (or all of them)."""

    calls: float = 0.0
    prompt: float = 0.0
    completion: float = 0.0

    def add(self, calls: float, prompt: float, completion: float) -> None:
        self.calls += calls
        self.prompt += prompt
        self.completion += completion


@dataclass
class LanguageProfile:
    """What the sessions of one language cost, summed over them (divide by ``sessions``)."""

    language: str
    sessions: int = 0
    turns: int = 0
    days_played: set[int] = field(default_factory=set)
    by_purpose: dict[str, Usage] = field(default_factory=lambda: {p: Usage() for p in PURPOSES})
    by_day: dict[int, Usage] = field(default_factory=lambda: defaultdict(Usage))
    turns_by_day: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    #: over the logged calls that say it: prompt tokens, and those the model evaluated (not reused)
    logged_prompt: float = 0.0
    logged_evaluated: float = 0.0

    @property
    def evaluated_share(self) -> float | None:
        return self.logged_evaluated / self.logged_prompt if self.logged_prompt else None

    @property
    def total(self) -> Usage:
        out = Usage()
        for u in self.by_purpose.values():
            out.add(u.calls, u.prompt, u.completion)
        return out


def read_store(
    db: Path, *, run_id: str | None = None, status: str | None = None
) -> dict[str, LanguageProfile]:
    """The profile of every simulated session in ``db`` (only of run ``run_id``, only with ``status``
    when given) that has a turn, by language."""
    import duckdb

    conn = duckdb.connect(str(db), read_only=True)
    try:
        where = (
            "s.kind = 'simulated'"
            + (" AND s.run_id = ?" if run_id else "")
            + (" AND s.status = ?" if status else "")
        )
        params: list[Any] = [v for v in (run_id, status) if v]
        sessions = conn.execute(  # a session with no turn yet costs nothing to count
            f"SELECT s.id, s.language FROM sessions s WHERE {where} AND EXISTS "
            "(SELECT 1 FROM turns t WHERE t.session_id = s.id)",
            params,
        ).fetchall()
        logged = conn.execute(
            f"SELECT c.session_id, c.day, c.purpose, count(*), sum(c.prompt_tokens), sum(c.completion_tokens) "
            f"FROM llm_calls c JOIN sessions s ON s.id = c.session_id WHERE {where} GROUP BY ALL",
            params,
        ).fetchall()
        reuse = conn.execute(
            f"SELECT s.language, sum(c.prompt_tokens), sum(c.evaluated_prompt_tokens) FROM llm_calls c "
            f"JOIN sessions s ON s.id = c.session_id WHERE {where} AND c.evaluated_prompt_tokens IS NOT NULL "
            "GROUP BY ALL",
            params,
        ).fetchall()
        turns = conn.execute(
            "SELECT t.session_id, t.day, count(*), sum(coalesce(t.npc_rejected, 0)), "
            "sum(coalesce(t.reply_resampled, 0)), sum(CASE WHEN t.npc_fallback THEN 1 ELSE 0 END) "
            f"FROM turns t JOIN sessions s ON s.id = t.session_id WHERE {where} GROUP BY ALL",
            params,
        ).fetchall()
    finally:
        conn.close()
    lang_of = dict(sessions)
    profiles: dict[str, LanguageProfile] = {}
    for _sid, lang in sessions:
        profiles.setdefault(lang, LanguageProfile(lang)).sessions += 1
    for lang, prompt, evaluated in reuse:
        if lang in profiles:
            profiles[lang].logged_prompt += float(prompt or 0)
            profiles[lang].logged_evaluated += float(evaluated or 0)
    kept: dict[tuple[str, int, str], tuple[int, float, float]] = {
        (sid, day, purpose): (int(n), float(p or 0), float(c or 0)) for sid, day, purpose, n, p, c in logged
    }
    for sid, day, n_turns, npc_rejected, reply_resampled, npc_fallback in turns:
        if sid not in lang_of:
            continue
        prof = profiles[lang_of[sid]]
        prof.turns += int(n_turns)
        prof.turns_by_day[int(day)] += int(n_turns)
        prof.days_played.add(int(day))
        # A housemate line that fell back to the scenario's line logged its last rejected call.
        extra = {"npc": int(npc_rejected) - int(npc_fallback), "user": int(reply_resampled), "check": 0}
        for purpose in PURPOSES:
            n, p, c = kept.get((sid, int(day), purpose), (0, 0.0, 0.0))
            more = max(0, extra[purpose]) if n else 0
            calls = n + more
            prompt = p + (p / n * more if n else 0.0)
            completion = c + (c / n * more if n else 0.0)
            prof.by_purpose[purpose].add(calls, prompt, completion)
            prof.by_day[int(day)].add(calls, prompt, completion)
    return profiles


@dataclass
class _Call:
    session: str
    purpose: str
    prompt: int
    completion: int


@dataclass
class CountingModel:
    """Wraps a ChatModel and records every call: the session it was made for (set by the caller
    before each run), its purpose (a JSON-schema call is the check, else ``purpose``) and its usage."""

    inner: ChatModel
    purpose: str
    calls: list[_Call] = field(default_factory=list)
    session: str = ""

    @property
    def name(self) -> str:
        return self.inner.name

    def __getattr__(self, item: str) -> Any:  # load(), state caches ... of the wrapped model
        return getattr(self.inner, item)

    async def complete(self, messages: list[Message], params: GenParams) -> Completion:
        comp = await self.inner.complete(messages, params)
        purpose = "check" if params.json_schema is not None else self.purpose
        self.calls.append(_Call(self.session, purpose, comp.prompt_tokens, comp.completion_tokens))
        return comp

    def close(self) -> None:
        self.inner.close()


def play(
    personas: Sequence[str], *, days: int, model: str, out: Path, run_id: str
) -> tuple[dict[str, LanguageProfile], float]:
    """Play each persona's session in turn (one model, one session at a time: the figures are per
    session, not per hour) with counting wrappers; returns the exact profile and the wall time."""
    from sharehouse.llm import load_model
    from sharehouse.personas.io import default_personas_path, load_personas
    from sharehouse.simulate import SimulateOptions, run_simulate, session_id_for
    from sharehouse.store import Store

    language = {p.id: p.language for p in load_personas(default_personas_path())}
    base = load_model(model)
    npc, user = CountingModel(base, "npc"), CountingModel(base, "user")
    started = time.perf_counter()
    with Store(out) as store:
        for pid in personas:
            sid = session_id_for(run_id, pid)
            npc.session = user.session = sid
            opts = SimulateOptions(
                persona_ids=[pid], model=model, concurrency=1, days=days, progress=False, run_id=run_id
            )
            asyncio.run(run_simulate(store, opts, npc_model=npc, user_model=user))  # type: ignore[arg-type]
    wall = time.perf_counter() - started
    profiles: dict[str, LanguageProfile] = {}
    for pid in personas:
        profiles.setdefault(language[pid], LanguageProfile(language[pid])).sessions += 1
    sessions = {session_id_for(run_id, pid): language[pid] for pid in personas}
    for call in [*npc.calls, *user.calls]:
        profiles[sessions[call.session]].by_purpose[call.purpose].add(1, call.prompt, call.completion)
    return profiles, wall


def per_day(profile: LanguageProfile) -> list[list[Any]]:
    """Rows of turns, calls and tokens per session for each day played."""
    n = max(1, profile.sessions)
    rows = []
    for day in sorted(profile.by_day):
        u = profile.by_day[day]
        turns = profile.turns_by_day[day]
        rows.append(
            [profile.language, day, f"{turns / n:.1f}", f"{u.calls / n:.1f}", f"{u.prompt / n:.0f}",
             f"{u.completion / n:.0f}", f"{u.prompt / max(1.0, u.calls):.0f}"]
        )  # fmt: skip
    return rows


def per_session(profiles: dict[str, LanguageProfile], label: str) -> list[list[Any]]:
    rows = []
    for lang in sorted(profiles):
        prof = profiles[lang]
        n = max(1, prof.sessions)
        total = prof.total
        calls = " / ".join(f"{prof.by_purpose[p].calls / n:.1f}" for p in PURPOSES)
        share = prof.evaluated_share
        rows.append(
            [label, lang, prof.sessions, f"{prof.turns / n:.1f}" if prof.turns else "—", calls,
             f"{total.calls / n:.1f}", f"{total.prompt / n:.0f}", f"{total.completion / n:.0f}",
             f"{share:.0%}" if share is not None else "—"]
        )  # fmt: skip
    return rows


SESSION_HEADER = [
    "source", "language", "sessions", "turns/session", "calls/session npc / user / check", "calls/session",
    "prompt tok/session", "completion tok/session", "prompt tokens evaluated (local KV reuse)",
]  # fmt: skip
DAY_HEADER = ["store", "language", "day", "turns", "calls", "prompt tok", "completion tok", "prompt tok/call"]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--db",
        type=Path,
        action="append",
        default=[],
        help="read the simulated sessions of this store (a copy; repeatable)",
    )
    parser.add_argument("--run", help="only this run id of each --db")
    parser.add_argument("--status", help="only sessions of this status (complete: all five days played)")
    parser.add_argument("--play", action="store_true", help="play personas with a counting model")
    parser.add_argument("--persona", action="append", default=[], help="persona id to play (repeatable)")
    parser.add_argument("--days", type=int, default=5)
    parser.add_argument("--model", default="local")
    parser.add_argument("--out", type=Path, default=Path("/tmp/bench_capacity.duckdb"))
    parser.add_argument("--write", action="store_true", help="store the report in bench/RESULTS.md")
    args = parser.parse_args(argv)
    if not args.db and not args.play:
        parser.error("give --db FILE, --play, or both")
    load = load_average()
    parts: list[str] = []
    session_rows: list[list[Any]] = []
    day_rows: list[list[Any]] = []
    for db in args.db:
        stored = read_store(db, run_id=args.run, status=args.status)
        session_rows += per_session(stored, f"stored: {db.name}")
        day_rows += [[db.name, *r] for lang in sorted(stored) for r in per_day(stored[lang])]
    if args.play:
        personas = args.persona or ["p-en-001", "p-ja-001", "p-zh-001"]
        run_id = f"capacity-{int(time.time())}"
        exact, wall = play(personas, days=args.days, model=args.model, out=args.out, run_id=run_id)
        counted = read_store(args.out, run_id=run_id)
        for lang, prof in counted.items():
            exact[lang].turns = prof.turns
        session_rows += per_session(exact, f"played, every call counted ({args.model})")
        session_rows += per_session(counted, "played, read back from the store")
        day_rows += [[args.out.name, *r] for lang in sorted(counted) for r in per_day(counted[lang])]
        parts.append(
            f"Played {', '.join(personas)} × {args.days} day(s) on `{args.model}`, one session at a time, "
            f"wall {wall / 60:.1f} min; store {args.out}."
        )
    parts.append(markdown_table(SESSION_HEADER, session_rows))
    parts.append("Per session and day (read from the store):\n\n" + markdown_table(DAY_HEADER, day_rows))
    parts.append(f"Load average {load} → {load_average()}.")
    publish(SECTION, "\n\n".join(parts), write=args.write)


if __name__ == "__main__":
    main()
