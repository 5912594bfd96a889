"""The face of ``sharehouse simulate``: input checks, the live progress table, the per-session
summary and the exit code, over :func:`sharehouse.simulate.run_simulate` (which does the work).
The display is an observer of the run's events (:mod:`sharehouse.simulate_events`): it counts them
into the :class:`RunStats` its tables are drawn from."""

from __future__ import annotations

import asyncio
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.table import Table

from sharehouse.engine.session import EngineEvents
from sharehouse.llm import LLMError
from sharehouse.scenario import ScenarioError, default_scenario_path, load_scenario
from sharehouse.simulate import (
    RUN_COMPLETE,
    RUN_FAILED_SESSIONS,
    RUN_INCOMPLETE,
    EventsFactory,
    RunStats,
    SimulateOptions,
    new_run_id,
    plan_models,
    run_simulate,
    select_personas,
)
from sharehouse.simulate_events import SimulateEvent
from sharehouse.store import Store


def progress_table(run_id: str, stats: RunStats) -> Table:
    el = stats.elapsed()
    rate = stats.turns / el * 60 if el > 0 else 0.0
    eta = stats.eta()
    table = Table(title=f"simulate {run_id}", header_style="bold", expand=False)
    for col in ("sessions", "done", "running", "failed", "skipped", "turns", "generated tok", "turns/min",
                "generated tok/s", "elapsed", "ETA"):  # fmt: skip
        table.add_column(col, justify="right")
    table.add_row(
        str(stats.total), f"[green]{stats.done}[/green]", f"[yellow]{stats.running}[/yellow]",
        f"[red]{stats.failed}[/red]", str(stats.skipped), str(stats.turns), str(stats.completion_tokens),
        f"{rate:.1f}", f"{stats.completion_tokens / el if el > 0 else 0:.1f}", f"{el:.0f}s",
        f"{eta:.0f}s" if eta is not None else "-",
    )  # fmt: skip
    return table


def summary_table(stats: RunStats) -> Table:
    played = stats.total - stats.skipped
    table = Table(
        title="sessions",
        header_style="bold",
        caption=(
            f"{played} played now, {stats.earlier_complete} complete before this run, "
            f"{stats.skipped - stats.earlier_complete} left as they were"
        ),
    )
    for col in ("session", "persona", "lang", "status", "turns", "seconds", "note / reason"):
        table.add_column(col)
    for sid, s in stats.per_session.items():
        colour = {"complete": "green", "failed": "red"}.get(s.status, "yellow")
        lost = f"resumed after {s.workers_lost} lost worker(s)" if s.workers_lost else ""
        note = "; ".join(x for x in (s.note, lost, (s.reason or "")[:80]) if x)
        table.add_row(
            sid,
            s.persona,
            s.language,
            f"[{colour}]{s.status}[/{colour}]",
            str(s.turns),
            f"{s.seconds:.0f}",
            note,
        )
    return table


class RunDisplay:
    """The command's view of one run, fed by the run's events: the stats behind the progress table,
    the plain progress lines and the closing summary."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        self.stats = RunStats()

    def __call__(self, event: SimulateEvent) -> None:
        self.stats.apply(event)

    def progress(self) -> Table:
        return progress_table(self.run_id, self.stats)


def _print_error(err: Console, exc: BaseException) -> None:
    """Plain lines on stderr, like ``sharehouse scenario validate``: one per problem, file and place."""
    lines = exc.lines() if isinstance(exc, ScenarioError) else [f"error: {exc}"]
    for line in lines:
        err.print(line, markup=False, highlight=False)


async def run_simulate_cli(
    store: Store, opts: SimulateOptions, console: Console, err: Console | None = None
) -> int:
    """The ``sharehouse simulate`` command: check the inputs, play with a progress display, summarize.
    Exit codes: 0 all played sessions fine, 1 some failed, 2 bad input or a model that cannot load."""
    from sharehouse.consoles import err_console
    from sharehouse.live_transcript import LiveTranscript
    from sharehouse.llm.models import ModelNotInstalledError

    err = err or err_console()
    run_id = opts.run_id or new_run_id()
    opts = opts.model_copy(update={"run_id": run_id})
    try:  # every input problem is reported before any progress output
        scenario = load_scenario(opts.scenario or default_scenario_path())
        select_personas(opts)
        plan = plan_models(opts)
    except ValueError as exc:  # ScenarioError, PersonaFileError, a bad model spec or option
        _print_error(err, exc)
        return 2
    display = RunDisplay(run_id)
    stats = display.stats
    mode = f"batched, {plan.npc.n_seq} sequences" if plan.npc.batched else "one call at a time"
    model_line = f"{opts.model} ({mode})" if plan.npc.backend == "local" else opts.model
    if opts.executor == "ray":
        where = opts.ray_address or f"a local cluster of {opts.concurrency} CPUs"
        model_line = f"{opts.model} on Ray workers ({where})"
    console.print(f"run [bold]{run_id}[/bold] · model {model_line} · database {store.path}", highlight=False)
    try:
        events_for: EventsFactory | None = None
        if opts.print_transcripts:  # each line as it is played (printed above the progress display)
            several = len(select_personas(opts)) > 1 and opts.concurrency > 1

            def events_for(sid: str, persona: Any) -> EngineEvents:
                rec = store.get_session(sid)
                day = rec.position_day if rec is not None else 1
                return LiveTranscript(console, scenario, persona, day, tag=several)

        task = asyncio.create_task(
            run_simulate(store, opts, scenario=scenario, observer=display, events_for=events_for)
        )
        if opts.progress and console.is_terminal:
            with Live(display.progress(), console=console, refresh_per_second=2) as live:
                while not task.done():
                    live.update(display.progress())
                    await asyncio.sleep(0.5)
                live.update(display.progress())
        else:
            last = -1
            while not task.done():
                await asyncio.sleep(1.0)
                if stats.turns != last and stats.turns % 5 == 0:
                    last = stats.turns
                    console.print(
                        f"… {stats.turns} turns, {stats.settled}/{stats.total} sessions finished",
                        highlight=False,
                    )
        result = await task
    except (ValueError, LLMError, ModelNotInstalledError) as exc:
        _print_error(err, exc)
        return 2
    console.print(display.progress())
    console.print(summary_table(stats))
    explain = {
        RUN_COMPLETE: "every session is complete",
        RUN_INCOMPLETE: "some sessions have days left to play",
        RUN_FAILED_SESSIONS: "failed sessions remain; the same command retries them",
    }[result.status]
    console.print(f"run status: {result.status} ({explain})", highlight=False)
    console.print(f"resume or extend this run with: sharehouse simulate --run {run_id}", highlight=False)
    return 1 if stats.failed else 0
