"""``sharehouse report realism``: simulated users compared with the real YNTP-100 people."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from sharehouse.consoles import out_console


def realism(
    run: Annotated[
        str | None, typer.Option("--run", help="Simulate run id (default: every simulated session).")
    ] = None,
    yntp: Annotated[Path, typer.Option(help="Directory of the real YNTP-100 files.")] = Path(
        "../shared/yntp100"
    ),
    plot: Annotated[Path, typer.Option(help="Where to save the histogram plot (PNG).")] = Path(
        "reports/realism.png"
    ),
    db: Annotated[
        Path | None,
        typer.Option("--db", help="DuckDB file (default: $SHAREHOUSE_DB or sessions/sharehouse.duckdb)."),
    ] = None,
) -> None:
    """Compare simulated users' replies with real people's: per-language feature distances and diversity."""
    from sharehouse.cli import open_store
    from sharehouse.realism import load_yntp_replies, realism_report, render_table, save_plot
    from sharehouse.realism.store import simulated_replies

    console = out_console()
    if not yntp.is_dir():
        console.print(f"[red]error:[/red] no YNTP-100 directory at {yntp} (use --yntp DIR)")
        raise typer.Exit(2)
    with open_store(db) as store:
        sim = simulated_replies(store, run)
    if not sim:
        console.print(
            f"[red]error:[/red] no simulated replies{' in run ' + run if run else ''} in the database"
        )
        raise typer.Exit(1)
    report = realism_report(load_yntp_replies(yntp), sim)
    console.print(render_table(report))
    plot.parent.mkdir(parents=True, exist_ok=True)
    console.print(f"plot saved to {save_plot(report, plot)}")


def register(app: typer.Typer) -> None:
    """Add ``realism`` to the ``report`` group (created here when the evaluator has not made it)."""
    for group in app.registered_groups:
        if group.name == "report" and group.typer_instance is not None:
            group.typer_instance.command("realism")(realism)
            return
    report_app = typer.Typer(
        help="Reports: realism of simulated users, evaluation tables and figures.", no_args_is_help=True
    )
    report_app.command("realism")(realism)
    app.add_typer(report_app, name="report")
