"""``sharehouse report realism`` and ``report quality``: simulated users compared with the real YNTP-100 people.

``sharehouse.cli`` adds both to the ``report`` group of :mod:`evaluator.cli_report`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from sharehouse.cli_common import DbOpt, LanguagesOpt, fail, languages_option, open_store
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
    db: DbOpt = None,
) -> None:
    """Compare simulated users' replies with real people's: per-language feature distances and diversity.

    Repetition, housemate echoes, fallbacks and question-reply relevance are in `report quality`."""
    from sharehouse.realism import load_yntp_replies, realism_report, render_table, save_plot
    from sharehouse.realism.store import simulated_replies

    console = out_console()
    if not yntp.is_dir():
        fail(f"no YNTP-100 directory at {yntp} (use --yntp DIR)", 2)
    with open_store(db) as store:
        sim = simulated_replies(store, run)
    if not sim:
        fail(f"no simulated replies{' in run ' + run if run else ''} in the database", 1)
    report = realism_report(load_yntp_replies(yntp), sim)
    console.print(render_table(report))
    plot.parent.mkdir(parents=True, exist_ok=True)
    console.print(f"plot saved to {save_plot(report, plot)}")
    console.print(
        "repetition, echoes, fallbacks and relevance: sharehouse report quality"
        + (f" --run {run}" if run else "")
    )


def quality(
    run: Annotated[str | None, typer.Option("--run", help="Simulate run id.")] = None,
    source: Annotated[
        str | None, typer.Option("--source", help="Session source (e.g. simulate, yntp100).")
    ] = None,
    languages: LanguagesOpt = None,
    yntp: Annotated[Path, typer.Option(help="Directory of the real YNTP-100 files.")] = Path(
        "../shared/yntp100"
    ),
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the report as JSON here.")] = None,
    relevance: Annotated[
        bool, typer.Option(help="Compute question-reply relevance (loads the sentence encoders).")
    ] = True,
    db: DbOpt = None,
) -> None:
    """Dialogue quality per language: repeats, echoes, fallbacks, relevance, length and style,
    simulated sessions beside the real YNTP-100 people, with issue 13's targets.

    Without --run or --source every simulated session is read."""
    from sharehouse.realism.quality import quality_report
    from sharehouse.realism.quality_data import store_dialogues, yntp_dialogues
    from sharehouse.realism.quality_table import render_quality_table

    console = out_console()
    langs = languages_option(languages)
    if not yntp.is_dir():
        fail(f"no YNTP-100 directory at {yntp} (use --yntp DIR)", 2)
    real = yntp_dialogues(yntp, langs)
    with open_store(db) as store:
        sim = store_dialogues(store, run_id=run, source=source, languages=langs)
        if not sim:
            what = " and ".join(
                x for x in (f"run {run}" if run else "", f"source {source}" if source else "") if x
            )
            fail(f"no sessions{' in ' + what if what else ' of simulated users'} in the database", 1)
        report = quality_report(real, sim, store=store, relevance=relevance)
    console.print(render_quality_table(report))
    if json_out is not None:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(report.model_dump_json(indent=2), encoding="utf-8")
        console.print(f"JSON written to {json_out}")
