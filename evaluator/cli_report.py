"""``sharehouse report eval RUN --out DIR``: tables and figures of a stored evaluation run;
``sharehouse report view RUN``: the evaluator screen in the terminal."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from sharehouse.consoles import out_console

DbOpt = Annotated[
    Path | None,
    typer.Option("--db", help="DuckDB file (default: $SHAREHOUSE_DB or sessions/sharehouse.duckdb)."),
]

report_app = typer.Typer(
    help="Reports: evaluation tables and figures, realism of simulated users.", no_args_is_help=True
)


@report_app.command("eval")
def report_eval(
    run: Annotated[str, typer.Argument(help="Evaluation run id.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Directory for the tables and figures.")],
    db: DbOpt = None,
) -> None:
    """Write CSV / Markdown / LaTeX tables, PNG + SVG figures and settings.json of an evaluation run."""
    from evaluator.report import build_report, write_report
    from sharehouse.cli import open_store
    from sharehouse.store.evaluation import load_scored_turns

    console = out_console()
    with open_store(db, read_only=True) as store:
        info = store.get_run(run)
        if info is None or info["kind"] != "evaluate":
            console.print(f"[red]error:[/red] no evaluation run {run!r} in {store.path}")
            raise typer.Exit(1)
        turns = load_scored_turns(store, run)
    if not turns:
        console.print(f"[red]error:[/red] run {run} has no scored predictions yet")
        raise typer.Exit(1)
    report = build_report(turns)
    settings = {
        "run": info["id"],
        "status": info["status"],
        "created_at": info["created_at"],
        "updated_at": info["updated_at"],
        "config": info["config"],
    }
    files = write_report(report, out, settings=settings)
    console.print(f"wrote {len(files)} files to {out}")


@report_app.command("view")
def report_view(
    run: Annotated[str | None, typer.Argument(help="Evaluation run id (default: the newest).")] = None,
    db: DbOpt = None,
) -> None:
    """Browse an evaluation run in the terminal: leaderboards, plots and per-user drill-down."""
    from sharehouse.cli import open_store
    from sharehouse.store.evaluation import list_eval_runs
    from sharehouse.tui.screens.evaluator import EvaluatorApp

    with open_store(db, read_only=True) as store:
        run_id = run or next((r["id"] for r in list_eval_runs(store)), None)
        if run_id is None or store.get_run(run_id) is None:
            out_console().print(f"[red]error:[/red] no evaluation run {run or ''} in {store.path}")
            raise typer.Exit(1)
        EvaluatorApp(store, run_id).run()


def register(app: typer.Typer) -> None:
    """Mount the ``report`` group (``sharehouse.cli_report`` adds ``realism`` to it)."""
    app.add_typer(report_app, name="report")
