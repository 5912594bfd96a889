"""What the ``sharehouse`` commands share: the ``--db`` and ``--languages`` options, the list
convention (comma-separated), opening the session store and the one way a command fails.

A command fails with :func:`fail`: one line ``error: …`` on standard error, then the exit code the
command documents (2 for a bad input or a store that cannot be opened, 1 when there is nothing to
show or the work failed). Wrong option values are :class:`typer.BadParameter` (typer's usage
error, exit code 2), as :func:`languages_option` raises them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.markup import escape

from sharehouse.consoles import err_console
from sharehouse.lang import Lang, parse_languages
from sharehouse.settings import env_name
from sharehouse.store import Store, StoreError

#: ``--db``: the session store (``$SHAREHOUSE_DB``, else ``sessions/sharehouse.duckdb``).
DbOpt = Annotated[
    Path | None,
    typer.Option("--db", envvar=env_name("db"), help="DuckDB file (default: sessions/sharehouse.duckdb)."),
]

#: ``--api-base``: where a litellm model is served.
ApiBaseOpt = Annotated[str | None, typer.Option("--api-base", help="API base URL for litellm models.")]

#: ``--languages``: a comma-separated list of languages (aliases accepted); None means every language.
LanguagesOpt = Annotated[
    str | None,
    typer.Option("--languages", help="Comma-separated languages (en, ja, zh; cn/jp accepted). Default: all."),
]


def print_error(message: str, *, label: str = "error") -> None:
    """One line ``label: message`` on standard error (the message is printed as it is, never as markup)."""
    err_console().print(f"[red]{label}:[/red] {escape(message)}", highlight=False)


def fail(message: str, code: int = 1, *, label: str = "error") -> NoReturn:
    """Print ``label: message`` on standard error and end the command with exit ``code``."""
    print_error(message, label=label)
    raise typer.Exit(code)


def split_list(value: str | None) -> list[str] | None:
    """The items of a comma-separated option value, stripped; None when it names none."""
    if value is None:
        return None
    items = [v.strip() for v in value.split(",") if v.strip()]
    return items or None


def languages_option(value: str | None, *, option: str | None = None) -> list[Lang] | None:
    """The language codes of a comma-separated option value (None: every language); an unknown
    language is a :class:`typer.BadParameter` naming it."""
    if not value:
        return None
    try:
        return parse_languages(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint=option) from None


def open_store(db: Path | None, *, read_only: bool = False, shared: bool = False) -> Store:
    """The session store at ``db`` (default: ``$SHAREHOUSE_DB`` or ``sessions/sharehouse.duckdb``),
    ``shared`` for a process that is one of many using the file (see :class:`Store`); a store that
    cannot be opened fails the command with exit code 2."""
    try:
        return Store(db, read_only=read_only, shared=shared)
    except StoreError as exc:
        fail(str(exc), 2)
