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

#: ``--api-base``: where a litellm model is served; the command reads it with :func:`api_base_option`.
ApiBaseOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--api-base",
        metavar="URL|FILE",
        help="Where a litellm model is served: an OpenAI-compatible URL (http://host:port/v1); several "
        "(comma-separated or --api-base repeated): each call goes to the least busy, a failing one is "
        "taken out of rotation and tried again later; or a litellm Router config file (YAML/JSON "
        "model_list; --model names a model_name in it). See docs/scaling.md.",
    ),
]

#: ``--executor``: where simulate's sessions, or evaluate's trained-method users, run (sharehouse.executors).
ExecutorOpt = Annotated[
    str,
    typer.Option(
        "--executor",
        metavar="inline|ray",
        help="inline: in this process. ray: each persona session (simulate) or each user's trained-method "
        "fit and predictions (evaluate) is a Ray task with its own model; this process stores what they "
        "stream back. Needs pip install 'sharehouse[scale]'. See docs/scaling.md.",
    ),
]

#: ``--ray-address``: the Ray cluster of ``--executor ray`` (default: a local cluster for the run).
RayAddressOpt = Annotated[
    str | None,
    typer.Option(
        "--ray-address",
        metavar="ADDR",
        help="With --executor ray: the cluster to use (host:port of its head, or auto for the one "
        "`ray start` runs here). Default: a local cluster of --concurrency CPUs, stopped at the end.",
    ),
]

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


def executor_option(executor: str, ray_address: str | None) -> None:
    """Check ``--executor`` and ``--ray-address`` (:data:`ExecutorOpt`): a wrong pair, or Ray not
    installed, is a :class:`typer.BadParameter` naming it."""
    from sharehouse.executors import check_executor
    from sharehouse.executors.ray_tasks import require_ray

    try:
        check_executor(executor, ray_address)
        if executor == "ray":
            require_ray()
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


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


def api_base_option(values: list[str] | None, *, option: str = "--api-base") -> str | None:
    """The endpoints an ``--api-base`` option names (:data:`ApiBaseOpt`, given once or repeated), as
    one value for the model specs (URLs joined by commas, or a config file's absolute path); None
    when the option is not given. A URL without http(s)://, an unreadable or invalid config file or an
    empty list is a :class:`typer.BadParameter` naming it."""
    if values is None:
        return None
    from sharehouse.llm.endpoints import ApiBaseError, normalize_api_base

    try:
        return normalize_api_base(values)
    except ApiBaseError as exc:
        raise typer.BadParameter(str(exc), param_hint=option) from None


def open_store(db: Path | None, *, read_only: bool = False, shared: bool = False) -> Store:
    """The session store at ``db`` (default: ``$SHAREHOUSE_DB`` or ``sessions/sharehouse.duckdb``),
    ``shared`` for a process that is one of many using the file (see :class:`Store`); a store that
    cannot be opened fails the command with exit code 2."""
    try:
        return Store(db, read_only=read_only, shared=shared)
    except StoreError as exc:
        fail(str(exc), 2)
