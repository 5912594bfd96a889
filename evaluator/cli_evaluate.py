"""``sharehouse evaluate``: run methods × models on the YNTP task, and list methods or show runs.

sharehouse evaluate --methods few-shot,cot --models local:small --source yntp100 --languages en
sharehouse evaluate list
sharehouse evaluate show RUN
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from sharehouse.consoles import err_console, out_console

DbOpt = Annotated[
    Path | None,
    typer.Option("--db", help="DuckDB file (default: $SHAREHOUSE_DB or sessions/sharehouse.duckdb)."),
]


def _split(value: str | None) -> list[str] | None:
    if value is None:
        return None
    items = [v.strip() for v in value.split(",") if v.strip()]
    return items or None


def _parse_options(pairs: list[str] | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for pair in pairs or []:
        if "=" not in pair:
            raise typer.BadParameter(f"--option expects KEY=VALUE, got {pair!r}")
        key, value = pair.split("=", 1)
        try:
            out[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            out[key.strip()] = value
    return out


def _open(db: Path | None, *, read_only: bool = False):  # noqa: ANN202 - returns a Store
    from sharehouse.store import Store, StoreError

    try:
        return Store(db, read_only=read_only)
    except StoreError as exc:
        err_console().print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc


def evaluate_callback(
    ctx: typer.Context,
    methods: Annotated[
        str, typer.Option("--methods", "-m", help="Comma-separated method names (see `evaluate list`).")
    ] = "zero-shot,few-shot",
    models: Annotated[
        str,
        typer.Option(
            "--models",
            help="Comma-separated model specs: local, local:small, local:/x.gguf, or litellm models.",
        ),
    ] = "local",
    source: Annotated[
        str, typer.Option(help="Sessions to evaluate: yntp100, play, simulate, run:ID, or any source string.")
    ] = "yntp100",
    languages: Annotated[
        str | None, typer.Option(help="Comma-separated languages (en, ja, zh; cn/jp accepted). Default: all.")
    ] = None,
    users: Annotated[str | None, typer.Option(help="Comma-separated user ids (e.g. en_1,en_2).")] = None,
    limit_users: Annotated[
        int | None, typer.Option("--limit-users", min=1, help="At most N users per language.")
    ] = None,
    limit_turns: Annotated[
        int | None, typer.Option("--limit-turns", min=1, help="At most N day-5 turns per user.")
    ] = None,
    seed: Annotated[
        int, typer.Option(help="Sampling seed (a fixed seed also enables the LLM call cache).")
    ] = 0,
    temperature: Annotated[float, typer.Option(help="Sampling temperature of the replies.")] = 0.7,
    max_tokens: Annotated[int, typer.Option(min=1, help="Maximum tokens per reply.")] = 160,
    concurrency: Annotated[
        int,
        typer.Option(min=1, help="Users predicted at once for API models (local models run one at a time)."),
    ] = 4,
    run_id: Annotated[
        str | None, typer.Option("--run", help="Evaluation run id; the same id resumes that run.")
    ] = None,
    api_base: Annotated[
        str | None, typer.Option("--api-base", help="API base URL for litellm models.")
    ] = None,
    option: Annotated[
        list[str] | None,
        typer.Option(
            "--option", "-o", help="Method option KEY=VALUE (repeatable): max_demos, k, context_turns, ..."
        ),
    ] = None,
    score: Annotated[bool, typer.Option("--score/--no-score", help="Score predictions with M1–M6.")] = True,
    cache: Annotated[
        bool, typer.Option("--cache/--no-cache", help="Reuse identical reproducible LLM calls.")
    ] = True,
    progress: Annotated[bool, typer.Option("--progress/--no-progress", help="Live progress display.")] = True,
    tui: Annotated[
        bool,
        typer.Option(
            "--tui",
            help="Run inside the evaluator screen: progress per method × model, c cancels, u resumes, "
            "the leaderboard fills in as scores arrive.",
        ),
    ] = False,
    db: DbOpt = None,
) -> None:
    """Evaluate personalization methods on the YNTP task (days 1-4 → day 5); resumable with --run."""
    if ctx.invoked_subcommand is not None:
        return
    from evaluator.leaderboard import print_leaderboard
    from evaluator.runner import EvalParams, run_evaluation
    from evaluator.task import build_tasks

    console = out_console()
    err = err_console()
    method_list = _split(methods) or []
    model_list = _split(models) or []
    if not method_list or not model_list:
        raise typer.BadParameter("give at least one method and one model")
    params = EvalParams(
        temperature=temperature,
        max_tokens=max_tokens,
        api_base=api_base,
        extra=_parse_options(option),
        score=score,
        use_cache=cache,
    )
    with _open(db) as store:
        try:
            tasks, skipped = build_tasks(
                store,
                source=source,
                languages=_split(languages),
                users=_split(users),
                limit_users=limit_users,
                max_tests=limit_turns,
            )
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from None
        for s in skipped:
            err.print(f"[yellow]skipped {s.user_id}[/yellow] ({s.session_id or '-'}): {s.reason}")
        if not tasks:
            hint = (
                " (import it first: sharehouse import yntp ../shared/yntp100)" if source == "yntp100" else ""
            )
            err.print(f"[red]no users to evaluate for source {source!r}{hint}[/red]")
            raise typer.Exit(1)
        n_tests = sum(len(t.tests) for t in tasks)
        err.print(
            f"{len(tasks)} users, {n_tests} day-5 turns × {len(method_list)} methods × {len(model_list)} models"
        )
        if tui:
            _run_in_tui(
                store, tasks, methods=method_list, models=model_list, seed=seed, params=params,
                concurrency=concurrency, run_id=run_id, source=source, languages=_split(languages),
                users=_split(users), limit_users=limit_users, limit_turns=limit_turns,
            )  # fmt: skip
            return
        try:
            rid = run_evaluation(
                store,
                tasks,
                method_list,
                model_list,
                seed=seed,
                params=params,
                concurrency=concurrency,
                progress=progress,
                run_id=run_id,
                console=err,
                selection={
                    "source": source,
                    "languages": _split(languages),
                    "users": _split(users),
                    "limit_users": limit_users,
                    "limit_turns": limit_turns,
                },  # fmt: skip
            )
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from None
        if score:
            print_leaderboard(console, store, rid)
        console.print(f"run id: {rid} (resume or show it with --run {rid} / evaluate show {rid})")


def _run_in_tui(
    store: Any, tasks: list[Any], *, methods: list[str], run_id: str | None, **options: Any
) -> None:
    """``evaluate --tui``: the same run, executing inside the evaluator screen."""
    from evaluator.methods import get_method
    from sharehouse.tui.eval_request import RunRequest
    from sharehouse.tui.screens.evaluator import EvaluatorApp

    for name in methods:
        try:
            get_method(name)
        except KeyError as exc:
            raise typer.BadParameter(exc.args[0]) from None
    request = RunRequest(methods=methods, run_id=run_id, **options)
    EvaluatorApp(store, request=request, tasks=tasks).run()
    out_console().print(
        f"run id: {request.run_id} (resume or show it with --run {request.run_id} / evaluate show {request.run_id})"
    )


def list_command() -> None:
    """List the registered methods with their descriptions."""
    from evaluator.methods import load_all

    table = Table(title="Methods")
    table.add_column("name")
    table.add_column("trains", justify="center")
    table.add_column("description")
    for name, factory in sorted(load_all().items()):
        method = factory()
        table.add_row(name, "yes" if method.trains else "", method.description)
    out_console().print(table)


def show_command(
    run: Annotated[str, typer.Argument(help="Evaluation run id.")],
    db: DbOpt = None,
    failures: Annotated[
        bool, typer.Option("--failures", help="Also list failed users with their errors.")
    ] = False,
) -> None:
    """Print the per-language leaderboards of a stored evaluation run."""
    from evaluator.leaderboard import print_leaderboard
    from sharehouse.store.evaluation import list_eval_runs, load_user_status

    console = out_console()
    with _open(db) as store:
        info = store.get_run(run)
        if info is None or info["kind"] != "evaluate":
            known = ", ".join(r["id"] for r in list_eval_runs(store)[:10]) or "none"
            err_console().print(f"[red]error:[/red] no evaluation run {run!r} (recent: {known})")
            raise typer.Exit(1)
        console.print(f"run {run}: {info['status']}, created {info['created_at']}")
        print_leaderboard(console, store, run)
        if failures:
            for st in load_user_status(store, run):
                if st.status != "ok":
                    console.print(f"[red]failed[/red] {st.method} × {st.model} {st.user_id}: {st.error}")


def register(app: typer.Typer) -> None:
    """Add the ``evaluate`` command group (run, ``list``, ``show``) to a typer app."""
    group = typer.Typer(
        help="Evaluate personalization methods on the YNTP task; `evaluate list`, `evaluate show RUN`.",
        invoke_without_command=True,
        no_args_is_help=False,
    )
    group.callback()(evaluate_callback)
    group.command("list")(list_command)
    group.command("show")(show_command)
    app.add_typer(group, name="evaluate")
