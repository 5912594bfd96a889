"""``sharehouse study status``, ``sharehouse sessions withdraw`` and ``sharehouse sessions compact``:
thin commands over :mod:`sharehouse.study` and :mod:`sharehouse.store.compact`. They open the store
shared, one short operation at a time, so that they can run beside the games of ``sharehouse serve``.

:data:`study_app` is the ``study`` group; :func:`withdraw_command` and :func:`compact_command` are
mounted in the ``sessions`` group by :mod:`sharehouse.cli`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from sharehouse.cli_common import DbOpt, fail, open_store
from sharehouse.consoles import out_console
from sharehouse.store import StoreError, default_db_path
from sharehouse.store.compact import compact_store
from sharehouse.study.codes import normalize_code
from sharehouse.study.participants import (
    ParticipantStatus,
    UnknownCodeError,
    WithdrawReport,
    purge_withdrawn,
    state_counts,
    study_status,
    withdraw,
)

study_app = typer.Typer(help="Follow a study: its participants and where each one is.", no_args_is_help=True)


def _counts_table(counts: dict[str, int]) -> Table:
    table = Table(title="Participants by state", title_justify="left")
    table.add_column("state")
    table.add_column("participants", justify="right")
    for label, n in counts.items():
        table.add_row(label, str(n))
    table.add_row("[bold]all[/bold]", f"[bold]{sum(counts.values())}[/bold]")
    return table


def _participants_table(rows: list[ParticipantStatus]) -> Table:
    table = Table(title="Participants", title_justify="left")
    for name, justify in (
        ("participant", "left"), ("study", "left"), ("state", "left"), ("language", "left"),
        ("replies", "right"), ("consented", "left"), ("last change", "left"),
    ):  # fmt: skip
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for r in rows:
        table.add_row(
            r.id, escape(r.study), r.label, r.language or "-", str(r.turns),
            f"{r.consented_at:%Y-%m-%d %H:%M}", f"{r.updated_at:%Y-%m-%d %H:%M}",
        )  # fmt: skip
    return table


@study_app.command("status")
def status_command(
    db: DbOpt = None,
    study: Annotated[str | None, typer.Option("--study", help="Only the participants of this study.")] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the participants and the counts as JSON instead of tables.")
    ] = False,
) -> None:
    """List the study's participants by state: consented (no reply yet), day N (playing),
    finished, withdrawn; with the number in each state. Nicknames and codes are never shown."""
    with open_store(db, read_only=True, shared=True) as store:
        rows = study_status(store, study=study)
    counts = state_counts(rows)
    if as_json:
        payload = {
            "counts": counts,
            "participants": [r.model_dump(mode="json") | {"label": r.label} for r in rows],
        }
        typer.echo(json.dumps(payload, ensure_ascii=False, indent=2))
        return
    console = out_console()
    console.print(_counts_table(counts))
    if rows:
        console.print(_participants_table(rows))
    else:
        console.print("No participants yet.")


def _report_table(report: WithdrawReport, *, title: str) -> Table:
    table = Table(title=title, title_justify="left", show_header=False)
    table.add_column("what")
    table.add_column("rows", justify="right")
    for what, n in report.rows():
        table.add_row(what, str(n))
    return table


def withdraw_command(
    code: Annotated[str, typer.Argument(help="The participant's resume code, e.g. K7QX-M2PD.")],
    db: DbOpt = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    compact: Annotated[
        bool,
        typer.Option(
            "--compact",
            help="Then rewrite the database file so that the deleted rows leave no bytes behind "
            "(the games of `sharehouse serve` wait meanwhile; no other command may hold the store).",
        ),
    ] = False,
) -> None:
    """Withdraw a participant: delete their games, replies, answers and every evaluation row and
    cached result made from them. A tombstone (participant id, consent record, withdrawal time) is kept.

    Exit code 1 when no participant has this code (mistyped, or already withdrawn), 2 for text that
    is not a resume code."""
    try:
        canonical = normalize_code(code)
    except ValueError as exc:
        fail(f"{code!r} is not a resume code: {exc}", 2)
    path = db if db is not None else default_db_path()
    if not path.is_file():
        fail(f"no database at {path}", 2)
    db = path
    console = out_console()
    if not yes:
        # look first and ask with the store closed, so the games of a running study are not held up
        with open_store(db, shared=True) as store:
            try:
                preview = withdraw(store, canonical, dry_run=True)
            except UnknownCodeError as exc:
                fail(str(exc), 1)
        console.print(_report_table(preview, title=f"Participant {preview.participant_id}: to be deleted"))
        if not typer.confirm("Delete all of it? This cannot be undone.", default=False):
            fail("nothing was deleted", 1)
    with open_store(db, shared=True) as store:
        try:
            report = withdraw(store, canonical)
        except UnknownCodeError as exc:
            fail(str(exc), 1)
        late = purge_withdrawn(store)
    console.print(_report_table(report, title=f"Participant {report.participant_id}: deleted"))
    _print_late(late)
    when = f"{report.withdrawn_at:%Y-%m-%d %H:%M:%S}" if report.withdrawn_at else "now"
    console.print(
        f"Withdrawn at {when}. Kept: the participant id, study {escape(report.study)!r} and the consent "
        "record, marked withdrawn. Files exported or reported before this (sharehouse export, report eval) "
        "are outside the store: delete them or export again."
    )
    if compact:
        _compact(db)
    else:
        console.print(
            "The deleted rows stay readable in the database file's free space until it is compacted: "
            "when no game is running, run `sharehouse sessions compact`."
        )


def _print_late(late: list[WithdrawReport]) -> None:
    console = out_console()
    for rep in late:
        console.print(
            _report_table(
                rep, title=f"Participant {rep.participant_id} (withdrawn before): written later, deleted"
            )
        )


def _compact(db: Path | None) -> None:
    path = db if db is not None else default_db_path()
    if not path.is_file():
        fail(f"no database at {path}", 2)
    with open_store(path, shared=True) as store:
        _print_late(purge_withdrawn(store))
    try:
        report = compact_store(path)
    except StoreError as exc:
        fail(str(exc), 2)
    out_console().print(
        f"Compacted {escape(report.path)}: {report.bytes_before:,} -> {report.bytes_after:,} bytes; "
        "no deleted row is left in the file."
    )


def compact_command(
    db: DbOpt = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Rewrite the database file with its live rows only, so that deleted data (withdrawn
    participants) cannot be read from its bytes. Rows written for a withdrawn participant after the
    withdrawal (a game left open) are deleted first. The games of `sharehouse serve` wait while the
    file is rewritten; no other command may hold the store meanwhile (its writes could be lost)."""
    path = db if db is not None else default_db_path()
    question = f"Rewrite {path}? Games wait meanwhile; no other command may be using it."
    if not yes and not typer.confirm(question, default=False):
        fail("nothing was changed", 1)
    _compact(db)
