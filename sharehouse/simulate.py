"""The batch runner: simulated users from personas play the scenario, concurrently and resumably.

A run has an id; each persona gets one session with a deterministic id inside it, so a killed run
restarted with the same id continues every unfinished session at its stored position and never
creates a second session for a persona. A session that keeps failing is marked failed with its
reason and the batch goes on; the next run with the same id retries it.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from rich.console import Console
from rich.live import Live
from rich.table import Table

from sharehouse.engine.checks import CheckResult
from sharehouse.engine.session import EngineEvents, EngineParams, SessionRunner, start_session
from sharehouse.llm import GenParams, LLMError, load_model, parse_spec
from sharehouse.llm.base import ChatModel
from sharehouse.scenario import Scenario, load_scenario
from sharehouse.scenario.load import default_scenario_path
from sharehouse.store import Store, StoreError, TurnRecord


class SimulateOptions(BaseModel):
    n_personas: int | None = None
    persona_ids: list[str] = []
    persona_file: Path | None = None
    language: str | None = None
    model: str = "local"
    user_model: str | None = None
    api_base: str | None = None
    concurrency: int = 4
    seed: int = 0
    temperature: float = 0.7
    run_id: str | None = None
    resume: bool = True
    retry_failed: bool = True
    days: int = 5
    scenario: Path | None = None
    print_transcripts: bool = False
    progress: bool = True
    max_session_attempts: int = 3
    ram_cache_bytes: int | None = None  # local backend: KV states kept for interleaved sessions


@dataclass
class RunStats:
    total: int = 0
    done: int = 0
    failed: int = 0
    skipped: int = 0
    running: int = 0
    turns: int = 0
    tokens: int = 0
    started: float = field(default_factory=time.perf_counter)
    per_session: dict[str, dict[str, Any]] = field(default_factory=dict)

    def elapsed(self) -> float:
        return time.perf_counter() - self.started


@dataclass
class SimulateResult:
    run_id: str
    stats: RunStats
    session_ids: list[str]


class _Counter(EngineEvents):
    def __init__(self, stats: RunStats, sid: str) -> None:
        self.stats, self.sid = stats, sid

    def turn_committed(self, turn: TurnRecord, check: CheckResult) -> None:
        self.stats.turns += 1
        self.stats.tokens += (turn.prompt_tokens or 0) + (turn.completion_tokens or 0)
        self.stats.per_session[self.sid]["turns"] += 1


def select_personas(opts: SimulateOptions) -> list[Any]:
    from sharehouse.personas.io import default_personas_path, load_personas

    personas = load_personas(opts.persona_file or default_personas_path())
    if opts.persona_ids:
        by_id = {p.id: p for p in personas}
        missing = [i for i in opts.persona_ids if i not in by_id]
        if missing:
            raise ValueError(f"unknown persona id(s): {', '.join(missing)}")
        return [by_id[i] for i in opts.persona_ids]
    if opts.language:
        personas = [p for p in personas if p.language == opts.language]
    n = opts.n_personas if opts.n_personas is not None else min(len(personas), 3)
    if n >= len(personas):
        return personas
    # Round-robin over languages in file order: a small selection still covers en, ja and zh.
    by_lang: dict[str, list[Any]] = {}
    for p in personas:
        by_lang.setdefault(p.language, []).append(p)
    out: list[Any] = []
    i = 0
    while len(out) < n:
        for lang in sorted(by_lang):
            if i < len(by_lang[lang]) and len(out) < n:
                out.append(by_lang[lang][i])
        i += 1
    return out


def new_run_id() -> str:
    return "run-" + datetime.now(UTC).strftime("%Y%m%d-%H%M%S")


def session_id_for(run_id: str, persona_id: str) -> str:
    return f"sim-{run_id}-{persona_id}"


async def run_simulate(
    store: Store,
    opts: SimulateOptions,
    *,
    scenario: Scenario | None = None,
    npc_model: ChatModel | None = None,
    user_model: ChatModel | None = None,
    stats: RunStats | None = None,
) -> SimulateResult:
    """Play (or resume) every selected persona's session in run ``opts.run_id``."""
    from sharehouse.personas.simulated import SimulatedUser

    scenario = scenario or load_scenario(opts.scenario or default_scenario_path())
    personas = select_personas(opts)
    run_id = opts.run_id or new_run_id()
    cfg = parse_spec(opts.model, api_base=opts.api_base)
    user_spec = opts.user_model or opts.model
    ram = opts.ram_cache_bytes
    if ram is None:
        # NPC, simulated-user and check prompts alternate even within one session: keep their KV states.
        ram = ((2 << 30) if opts.concurrency > 1 else (1 << 30)) if cfg.backend == "local" else 0
    npc_model = npc_model or load_model(opts.model, api_base=opts.api_base, ram_cache_bytes=ram)
    if user_model is None:
        user_model = npc_model if user_spec == opts.model else load_model(user_spec, api_base=opts.api_base)
    llm_config = {"npc": cfg.model_dump(), "user": parse_spec(user_spec, api_base=opts.api_base).model_dump(),
                  "temperature": opts.temperature, "seed": opts.seed}  # fmt: skip
    store.upsert_run(run_id, "simulate", {**opts.model_dump(mode="json"), "run_id": run_id})
    stats = stats or RunStats()
    stats.total = len(personas)
    sem = asyncio.Semaphore(max(1, opts.concurrency))
    session_ids: list[str] = []

    async def play(i: int, persona: Any) -> None:
        sid = session_id_for(run_id, persona.id)
        session_ids.append(sid)
        rec = store.get_session(sid)
        if rec is not None and rec.status == "complete":
            stats.skipped += 1
            stats.done += 1
            return
        if rec is not None and rec.status == "failed":
            if not opts.retry_failed:
                stats.skipped += 1
                stats.failed += 1
                return
            store.set_status(sid, "active", None)
        if rec is not None and not opts.resume:
            stats.skipped += 1
            return
        if rec is None:
            start_session(
                store, scenario, kind="simulated", source="simulate", user_id=persona.id,
                language=persona.language, run_id=run_id, persona_id=persona.id,
                llm_config=llm_config, session_id=sid,
            )  # fmt: skip
        stats.per_session[sid] = {"persona": persona.id, "language": persona.language, "turns": 0,
                                  "status": "running", "seconds": 0.0, "reason": None}  # fmt: skip
        async with sem:
            stats.running += 1
            began = time.perf_counter()
            try:
                await _play_session(
                    store, scenario, sid, persona, opts, npc_model, user_model, stats, SimulatedUser
                )
            finally:
                stats.running -= 1
                stats.per_session[sid]["seconds"] = time.perf_counter() - began
        final = store.get_session(sid)
        status = final.status if final else "failed"
        stats.per_session[sid]["status"] = status
        if status == "failed":
            stats.failed += 1
            stats.per_session[sid]["reason"] = final.failure_reason if final else None
        else:
            stats.done += 1

    try:
        await asyncio.gather(*(play(i, p) for i, p in enumerate(personas)))
    finally:
        remaining = store.list_sessions(run_id=run_id, status="active")
        store.set_run_status(run_id, "complete" if not remaining else "incomplete")
    return SimulateResult(run_id=run_id, stats=stats, session_ids=session_ids)


async def _play_session(
    store: Store,
    scenario: Scenario,
    sid: str,
    persona: Any,
    opts: SimulateOptions,
    npc_model: ChatModel,
    user_model: ChatModel,
    stats: RunStats,
    user_cls: Any,
) -> None:
    seed = opts.seed + sum(ord(c) for c in persona.id)
    last_error = ""
    for _attempt in range(opts.max_session_attempts):
        store.bump_attempts(sid)
        user = user_cls(
            persona, user_model, params=GenParams(max_tokens=120, temperature=opts.temperature), seed=seed
        )
        runner = SessionRunner(
            store, scenario, sid, npc_model=npc_model, user=user, events=_Counter(stats, sid),
            params=EngineParams(npc=GenParams(max_tokens=140, temperature=opts.temperature), seed=seed),
        )  # fmt: skip
        try:
            while not runner.finished and (runner.fsm.day or 99) <= opts.days:
                await runner.step()
            return
        except (TimeoutError, LLMError) as exc:
            last_error = f"{type(exc).__name__}: {exc}"
            await asyncio.sleep(0.2)
        except StoreError:
            raise
    store.set_status(sid, "failed", last_error[:500] or "unknown error")


def progress_table(run_id: str, stats: RunStats) -> Table:
    el = stats.elapsed()
    finished = stats.done + stats.failed
    rate = stats.turns / el * 60 if el > 0 else 0.0
    todo = stats.total - finished
    eta = (el / max(1, finished - stats.skipped)) * todo if finished > stats.skipped else None
    table = Table(title=f"simulate {run_id}", header_style="bold", expand=False)
    for col in (
        "sessions",
        "done",
        "running",
        "failed",
        "turns",
        "tokens",
        "turns/min",
        "tok/s",
        "elapsed",
        "ETA",
    ):
        table.add_column(col, justify="right")
    table.add_row(
        str(stats.total), f"[green]{stats.done}[/green]", f"[yellow]{stats.running}[/yellow]",
        f"[red]{stats.failed}[/red]", str(stats.turns), str(stats.tokens), f"{rate:.1f}",
        f"{stats.tokens / el if el > 0 else 0:.1f}", f"{el:.0f}s", f"{eta:.0f}s" if eta is not None else "-",
    )  # fmt: skip
    return table


def summary_table(stats: RunStats) -> Table:
    table = Table(title="sessions", header_style="bold")
    for col in ("session", "persona", "lang", "status", "turns", "seconds", "reason"):
        table.add_column(col)
    for sid, s in stats.per_session.items():
        colour = {"complete": "green", "failed": "red"}.get(s["status"], "yellow")
        table.add_row(sid, s["persona"], s["language"], f"[{colour}]{s['status']}[/{colour}]", str(s["turns"]),
                      f"{s['seconds']:.0f}", (s["reason"] or "")[:60])  # fmt: skip
    return table


async def run_simulate_cli(store: Store, opts: SimulateOptions, console: Console) -> int:
    from sharehouse.views import render_transcript

    run_id = opts.run_id or new_run_id()
    opts = opts.model_copy(update={"run_id": run_id})
    stats = RunStats()
    console.print(f"run [bold]{run_id}[/bold] · model {opts.model} · database {store.path}")
    try:
        task = asyncio.create_task(run_simulate(store, opts, stats=stats))
        if opts.progress and console.is_terminal:
            with Live(progress_table(run_id, stats), console=console, refresh_per_second=2) as live:
                while not task.done():
                    live.update(progress_table(run_id, stats))
                    await asyncio.sleep(0.5)
                live.update(progress_table(run_id, stats))
        else:
            last = -1
            while not task.done():
                await asyncio.sleep(1.0)
                if stats.turns != last and stats.turns % 5 == 0:
                    last = stats.turns
                    console.print(
                        f"… {stats.turns} turns, {stats.done}/{stats.total} sessions done", highlight=False
                    )
        result = await task
    except (ValueError, LLMError) as exc:
        console.print(f"[red]error:[/red] {exc}")
        return 2
    console.print(progress_table(run_id, stats))
    console.print(summary_table(stats))
    if opts.print_transcripts:
        for sid in result.session_ids:
            rec = store.get_session(sid)
            if rec is not None:
                render_transcript(console, rec, store.load_turns(sid))
    console.print(f"resume or extend this run with: sharehouse simulate --run {run_id}")
    return 1 if stats.failed else 0
