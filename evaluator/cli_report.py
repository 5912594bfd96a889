"""``sharehouse report eval RUN --out DIR``: tables and figures of a stored evaluation run (with
``--tie-tol`` and ``--z-pool``); ``sharehouse report view [RUN]``: the evaluator screen in the
terminal, on one run or on the list of runs. ``sharehouse.cli`` mounts :data:`report_app` and adds
``report realism`` and ``report quality`` (:mod:`sharehouse.cli_report`) to it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from evaluator.cli_metric_options import ZPoolOpt, check_z_pool
from evaluator.metrics.aggregate import DEFAULT_Z_POOL
from sharehouse.cli_common import DbOpt, fail, open_store
from sharehouse.consoles import out_console

#: evaluator.report.DEFAULT_TIE_TOL, written out so the CLI starts without importing the report code
TIE_TOL_HELP_DEFAULT = "0.05"

report_app = typer.Typer(
    help="Reports: evaluation tables and figures, realism of simulated users.", no_args_is_help=True
)


@report_app.command("eval")
def report_eval(
    run: Annotated[str, typer.Argument(help="Evaluation run id.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Directory for the tables and figures.")],
    tie_tol: Annotated[
        float | None,
        typer.Option(
            "--tie-tol",
            min=0.0,
            help="Win/tie/lose: two methods whose mean z-scores on a metric differ by at most this much "
            f"tie (z is in standard deviations; default {TIE_TOL_HELP_DEFAULT}).",
        ),
    ] = None,
    z_pool: ZPoolOpt = DEFAULT_Z_POOL,
    db: DbOpt = None,
) -> None:
    """Write CSV / Markdown / LaTeX tables (also one CSV per language; for imported results the
    published scores beside ours), PNG + SVG figures and settings.json (data selection, protocol,
    metric options, tie tolerance) of an evaluation run."""
    from evaluator.leaderboard import run_published, run_scored_turns
    from evaluator.report import DEFAULT_TIE_TOL, build_report, report_settings, write_report

    console = out_console()
    check_z_pool(z_pool)
    with open_store(db, read_only=True) as store:
        info = store.get_run(run)
        if info is None or info["kind"] != "evaluate":
            fail(f"no evaluation run {run!r} in {store.path}", 1)
        turns = run_scored_turns(store, run)
        published = run_published(store, run)
        sources = []
        for sid in dict.fromkeys(t["session_id"] for t in turns):
            rec = store.get_session(sid)
            if rec is not None:
                sources.append(rec.source)
    if not turns:
        fail(f"run {run} has no scored predictions yet", 1)
    report = build_report(
        turns,
        tie_tol=DEFAULT_TIE_TOL if tie_tol is None else tie_tol,
        z_pool=z_pool,  # type: ignore[arg-type]
        published=published,
    )
    settings = report_settings(info, report, session_sources=sources)
    files = write_report(report, out, settings=settings)
    console.print(f"wrote {len(files)} files to {out}")


@report_app.command("view")
def report_view(
    run: Annotated[
        str | None, typer.Argument(help="Evaluation run id (default: the list of runs, to choose one).")
    ] = None,
    db: DbOpt = None,
) -> None:
    """Browse evaluation runs in the terminal: leaderboards, plots and per-user drill-down (read-only)."""
    from sharehouse.tui.evaluator.app import EvaluatorApp

    with open_store(db, read_only=True) as store:
        info = store.get_run(run) if run is not None else None
        if run is not None and (info is None or info["kind"] != "evaluate"):
            fail(f"no evaluation run {run} in {store.path}", 1)
        EvaluatorApp(store, run).run()
