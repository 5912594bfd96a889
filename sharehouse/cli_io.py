"""``sharehouse import yntp`` and ``sharehouse export``: thin commands over :mod:`sharehouse.io`.

:data:`import_app` is the ``import`` group (``sharehouse.cli`` adds ``import predictions`` to it);
:func:`export_command` is ``export``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from sharehouse.cli_common import DbOpt, fail, open_store, print_error
from sharehouse.consoles import err_console, out_console
from sharehouse.io import (
    SALT_ENV,
    ExportError,
    ExportFilters,
    ExportFormat,
    ImportReport,
    YntpImportError,
    export_sessions,
    import_yntp,
)
from sharehouse.io.export import PARTITION_FILE_ROWS, PARTITION_KEYS, ExportReport
from sharehouse.textclean import MAX_INPUT_CHARS


def _consoles() -> tuple[Console, Console]:
    return out_console(), err_console()


def _import_summary(report: ImportReport) -> Table:
    table = Table(title=f"YNTP import from {report.directory} (source {report.source})", title_justify="left")
    table.add_column("result")
    table.add_column("files", justify="right")
    table.add_column("turns", justify="right")
    for label, items, style in (
        ("imported", report.imported, "green"),
        ("replaced (content changed)", report.replaced, "yellow"),
        ("skipped (unchanged)", report.skipped, "dim"),
    ):
        table.add_row(f"[{style}]{label}[/{style}]", str(len(items)), str(sum(i.turns for i in items)))
    table.add_row("[red]failed[/red]", str(len(report.failed)), "-")
    if report.truncated_fields:
        table.add_row(
            f"[yellow]fields cut to {MAX_INPUT_CHARS} characters[/yellow]",
            str(len(report.truncated_files)),
            f"{report.truncated_fields} field(s)",
        )
    return table


def _export_summary(report: ExportReport) -> Table:
    table = Table(title=f"Export ({report.format}) to {report.out}", title_justify="left", show_header=False)
    table.add_column("what")
    table.add_column("value", justify="right")
    table.add_row("sessions", str(report.sessions))
    table.add_row("turns", str(report.turns))
    table.add_row("files", str(report.files))
    if report.partitioned:
        table.add_row("partitioned by", ", ".join(PARTITION_KEYS))
    table.add_row("anonymised", "yes" if report.anonymized else "no")
    if report.replacements is not None:
        r = report.replacements
        table.add_row(escape("[EMAIL]") + " replaced", str(r.email))
        table.add_row(escape("[PHONE]") + " replaced", str(r.phone))
        table.add_row(escape("[URL]") + " replaced", str(r.url))
        table.add_row(escape("[NAME]") + " replaced", str(r.name))
    return table


def _persona_names(files: list[Path]) -> list[str]:
    from sharehouse.personas.io import PersonaFileError, load_personas

    names: list[str] = []
    for path in files:
        try:
            names.extend(p.name for p in load_personas(path))
        except PersonaFileError as exc:
            fail(str(exc), 2)
    return names


def _housemate_names(files: list[Path]) -> list[str]:
    from sharehouse.io.names import scenario_housemates
    from sharehouse.scenario import ScenarioError, load_scenario

    try:
        scenarios = [load_scenario(path) for path in files]
    except ScenarioError as exc:
        for line in exc.lines():
            print_error(line)
        raise typer.Exit(2) from exc
    return sorted(scenario_housemates(scenarios))


def _default_scenario_files() -> list[Path]:
    from sharehouse.scenario import default_scenario_path

    path = default_scenario_path()
    return [path] if path.is_file() else []


def _default_persona_files() -> list[Path]:
    from sharehouse.personas.io import default_personas_path

    path = default_personas_path()
    return [path] if path.is_file() else []


import_app = typer.Typer(help="Import conversation datasets into the session store.", no_args_is_help=True)


@import_app.command("yntp")
def import_yntp_command(
    directory: Annotated[
        Path,
        typer.Argument(help="Dataset folder in the YNTP-100 layout: {en,cn,jp}/{lang}_N.json."),
    ],
    db: DbOpt = None,
    source: Annotated[
        str, typer.Option("--source", help="Source name stored with each session (part of its id).")
    ] = "yntp100",
) -> None:
    """Import YNTP-100 files as completed human sessions (one per file).

    Files already imported are skipped when unchanged and replaced when their content changed.
    Bad files are reported with the JSON path of each problem; the good ones still import.
    Text fields longer than 20 000 characters are cut to that length and listed with file and
    JSON path. Exit code 1 when any file failed.
    """
    out, err = _consoles()
    with open_store(db) as store:
        try:
            report = import_yntp(store, directory, source=source)
        except YntpImportError as exc:
            fail(str(exc), 2)
    out.print(_import_summary(report))
    for line in report.truncation_lines():
        err.print(f"warning: {line}", markup=False, highlight=False, soft_wrap=True)
    for line in report.error_lines():
        err.print(line, markup=False, highlight=False, soft_wrap=True)
    if not report.imported and not report.replaced and not report.skipped and not report.failed:
        fail(f"no {{lang}}/*.json files found under {directory}", 1)
    if report.failed:
        raise typer.Exit(1)


def export_command(
    out: Annotated[
        Path,
        typer.Argument(
            help="Target: a folder for --format yntp and for --partitioned, a file for jsonl and parquet."
        ),
    ],
    fmt: Annotated[
        ExportFormat,
        typer.Option("--format", "-f", help="yntp (YNTP-100 folder), jsonl or parquet (one row per turn)."),
    ],
    db: DbOpt = None,
    run: Annotated[str | None, typer.Option("--run", help="Only sessions of this run id.")] = None,
    source: Annotated[
        str | None, typer.Option("--source", help="Only this source (play, simulate, yntp100, ...).")
    ] = None,
    language: Annotated[
        str | None,
        typer.Option("--language", help="Only this language (en, ja, zh; cn and jp also work)."),
    ] = None,
    status: Annotated[
        str | None, typer.Option("--status", help="Only this status (active, complete, failed).")
    ] = None,
    session: Annotated[
        list[str] | None, typer.Option("--session", help="Only this session id (repeatable).")
    ] = None,
    anonymize: Annotated[
        bool,
        typer.Option(
            "--anonymize",
            help="Pseudonymise ids and replace e-mails, phone numbers, URLs and personal names (a "
            "curated list, the personas' names, each game player's nickname; never the housemates') with "
            "[EMAIL], [PHONE], [URL], [NAME].",
        ),
    ] = False,
    salt: Annotated[
        str | None,
        typer.Option(
            "--salt",
            help=f"Secret for the id pseudonyms (default: ${SALT_ENV}; else random, used for this export "
            "only). The same salt gives the same pseudonyms in every export.",
        ),
    ] = None,
    personas: Annotated[
        list[Path] | None,
        typer.Option(
            "--personas",
            help="Persona JSONL file whose names are also anonymised (repeatable; default: the shipped "
            "sharehouse/data/default_personas.jsonl).",
        ),
    ] = None,
    scenarios: Annotated[
        list[Path] | None,
        typer.Option(
            "--scenario",
            help="Scenario file whose housemates' names (every language) are never anonymised "
            "(repeatable; default: $SHAREHOUSE_SCENARIO or the shipped sharehouse/data/sharehouse.json). "
            "The YNTP-100 housemates and every speaker in the exported turns are kept too.",
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace the target if it exists.")] = False,
    partitioned: Annotated[
        bool,
        typer.Option(
            "--partitioned",
            help="Parquet only: write a folder of partitions by language and run "
            "(language=en/run_id=RUN/part-0000.parquet), reading the store a batch of sessions at a time, for "
            "runs too big for one file or for memory. DuckDB (read_parquet('OUT/**/*.parquet', "
            "hive_partitioning = true)) and datasets (load_dataset('parquet', data_dir='OUT')) read it as one table.",
        ),
    ] = False,
    rows_per_file: Annotated[
        int,
        typer.Option("--rows-per-file", min=1, help="With --partitioned: turns per Parquet file at most."),
    ] = PARTITION_FILE_ROWS,
) -> None:
    """Export stored sessions as YNTP-100 files, JSON Lines or Parquet (optionally anonymised).

    The export is written to a temporary file or folder and renamed into place when complete.
    The store is only read; model settings and API keys are never exported.
    """
    if rows_per_file != PARTITION_FILE_ROWS and not partitioned:
        fail("--rows-per-file applies to a --partitioned export only", 2)
    console, err = _consoles()
    names = _persona_names(personas if personas else _default_persona_files()) if anonymize else []
    housemates = _housemate_names(scenarios if scenarios else _default_scenario_files()) if anonymize else []
    filters = ExportFilters(
        run_id=run, source=source, language=language, status=status, session_ids=session or []
    )
    with open_store(db, read_only=True) as store:
        try:
            report = export_sessions(
                store,
                out,
                fmt,
                filters=filters,
                anonymize=anonymize,
                salt=salt,
                names=names,
                housemates=housemates,
                overwrite=force,
                partitioned=partitioned,
                rows_per_file=rows_per_file,
            )
        except (ExportError, OSError) as exc:
            fail(f"export failed, nothing was written: {exc}", 1)
    console.print(_export_summary(report))
    if report.missing_session_ids:
        err.print(
            "[yellow]warning:[/yellow] no such session(s): " + ", ".join(report.missing_session_ids),
            highlight=False,
        )
    if report.sessions == 0:
        err.print(
            "[yellow]warning:[/yellow] no session matched the filters; the export is empty",
            highlight=False,
        )
    if report.salt_source == "random":
        err.print(
            f"[yellow]note:[/yellow] no --salt or ${SALT_ENV} given: a random salt was used, so these "
            "pseudonyms match no other export.",
            highlight=False,
        )


def register(app: typer.Typer) -> None:
    """Add the ``import`` group and ``export`` to ``app`` (a small app of the tests; ``sharehouse.cli``
    mounts them itself)."""
    app.add_typer(import_app, name="import")
    app.command("export")(export_command)
