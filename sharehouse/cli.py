"""The ``sharehouse`` command line: thin typer commands over library calls.

Every command group is mounted here, once, at the end of this module: ``scenario``, ``sessions``,
``doctor`` and ``simulate`` are defined here; the other commands live in their own modules
(:mod:`sharehouse.cli_io`, :mod:`sharehouse.cli_personas`, :mod:`sharehouse.cli_play`,
:mod:`sharehouse.cli_report`, :mod:`sharehouse.cli_serve`, :mod:`sharehouse.cli_study`,
:mod:`evaluator.cli_score`, :mod:`evaluator.cli_evaluate`, :mod:`evaluator.cli_import`,
:mod:`evaluator.cli_report`). What they share (``--db``, ``--languages``, opening the store, the
error line) is :mod:`sharehouse.cli_common`.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from evaluator import cli_evaluate, cli_import, cli_score
from evaluator import cli_report as eval_cli_report
from sharehouse import cli_io, cli_personas, cli_play, cli_report, cli_serve, cli_study
from sharehouse.cli_common import (
    ApiBaseOpt,
    DbOpt,
    ExecutorOpt,
    RayAddressOpt,
    api_base_option,
    executor_option,
    fail,
    open_store,
    print_error,
)
from sharehouse.consoles import err_console, out_console
from sharehouse.executors import DEFAULT_EXECUTOR
from sharehouse.logs import LogLevel, configure_logging
from sharehouse.settings import env_name
from sharehouse.store import StoreError

app = typer.Typer(
    name="sharehouse",
    help=(
        "sharehouse: a shared-house text adventure, a simulator of synthetic participants, a DuckDB "
        "session store and an evaluator for personalized response generation (YNTP)."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
scenario_app = typer.Typer(help="Check scenario files.", no_args_is_help=True)
sessions_app = typer.Typer(help="List, read and withdraw stored sessions.", no_args_is_help=True)
app.add_typer(scenario_app, name="scenario")
app.add_typer(sessions_app, name="sessions")

console = out_console()
err = err_console()


@app.callback()
def _root(
    log_level: Annotated[
        LogLevel | None,
        typer.Option(
            "--log-level",
            envvar=env_name("log_level"),
            case_sensitive=False,
            help="Log messages on standard error from this level up (default WARNING).",
        ),
    ] = None,
    verbose: Annotated[
        int, typer.Option("--verbose", "-v", count=True, help="More log messages: -v INFO, -vv DEBUG.")
    ] = 0,
) -> None:
    configure_logging(log_level.value if log_level else None, verbose)


@scenario_app.command("validate")
def scenario_validate(
    files: Annotated[list[Path], typer.Argument(help="Scenario JSON files to check.")],
) -> None:
    """Validate scenario files; print every error with its file and JSON path."""
    from sharehouse.scenario import validate_scenario_file

    bad = 0
    for f in files:
        errors = validate_scenario_file(f)
        if errors:
            bad += 1
            for line in errors:
                err.print(line, markup=False, highlight=False)
        else:
            console.print(f"[green]ok[/green] {f}")
    if bad:
        raise typer.Exit(1)


@sessions_app.command("list")
def sessions_list(
    db: DbOpt = None,
    run: Annotated[str | None, typer.Option(help="Only this run id.")] = None,
    source: Annotated[
        str | None, typer.Option(help="Only this source (play, simulate, yntp100, ...).")
    ] = None,
    language: Annotated[str | None, typer.Option(help="Only this language (en, ja, zh).")] = None,
    status: Annotated[str | None, typer.Option(help="Only this status (active, complete, failed).")] = None,
    limit: Annotated[int, typer.Option(help="At most this many rows.")] = 200,
) -> None:
    """List stored sessions with their progress."""
    from sharehouse.views import sessions_table

    with open_store(db, read_only=True) as store:
        rows = store.list_sessions(run_id=run, source=source, language=language, status=status, limit=limit)
        console.print(sessions_table(rows, store.turn_counts([r.id for r in rows])))


@sessions_app.command("show")
def sessions_show(
    session_id: Annotated[str, typer.Argument(help="Session id (or a unique prefix).")],
    db: DbOpt = None,
) -> None:
    """Print a session as a readable transcript, day by day.

    Turns where something stood in for a model are marked: "judge unavailable" (the reply check
    failed and the reply was accepted), "written line" (the scenario's line replaced an unusable NPC
    line), "canned reply" (a simulated user's fallback reply)."""
    from sharehouse.views import render_transcript

    with open_store(db, read_only=True) as store:
        rec = store.find_session(session_id)
        if rec is None:
            fail(f"no session {session_id!r} in {store.path}", 1)
        render_transcript(console, rec, store.load_turns(rec.id))


@app.command()
def doctor(
    db: DbOpt = None,
    load: Annotated[
        bool, typer.Option("--load/--no-load", help="Also load each model and generate a few tokens.")
    ] = True,
    check_db: Annotated[
        bool, typer.Option("--check-db", help="Run the integrity check on the database.")
    ] = False,
) -> None:
    """Check the installation: packages, packaged models (assembled and loadable), the database."""
    from sharehouse.doctor import run_doctor

    ok = run_doctor(console, db=db, load_models=load, check_db=check_db)
    if not ok:
        raise typer.Exit(1)


@app.command()
def simulate(
    personas: Annotated[
        int | None, typer.Option("--personas", "-n", help="How many personas to simulate.")
    ] = None,
    persona_ids: Annotated[
        list[str] | None, typer.Option("--persona", help="Persona id to simulate (repeatable).")
    ] = None,
    persona_file: Annotated[Path | None, typer.Option("--persona-file", help="Persona JSONL file.")] = None,
    language: Annotated[str | None, typer.Option(help="Only personas of this language (en, ja, zh).")] = None,
    model: Annotated[
        str,
        typer.Option(
            help="Model spec: local, local:small, local:/x.gguf (+batch: batched decoding), or a litellm model."
        ),
    ] = "local",
    user_model: Annotated[
        str | None, typer.Option(help="Model for the simulated users (default: --model).")
    ] = None,
    api_base: ApiBaseOpt = None,
    concurrency: Annotated[
        int, typer.Option(help="Sessions played at once (--executor ray: the local cluster's CPUs too).")
    ] = 4,
    executor: ExecutorOpt = DEFAULT_EXECUTOR,
    ray_address: RayAddressOpt = None,
    batched: Annotated[
        bool | None,
        typer.Option(
            "--batched/--no-batched",
            help="Local models: decode the concurrent sessions together, one llama.cpp sequence each "
            "(default: off, one completion at a time; it was not faster on a 2-core CPU).",
        ),
    ] = None,
    seed: Annotated[
        int,
        typer.Option(
            help="Sampling seed; each persona's session gets a seed derived from it and the persona id."
        ),
    ] = 0,
    temperature: Annotated[float, typer.Option(help="Sampling temperature.")] = 0.7,
    run_id: Annotated[str | None, typer.Option("--run", help="Run id; the same id resumes that run.")] = None,
    resume: Annotated[
        bool, typer.Option("--resume/--no-resume", help="Resume the run's unfinished sessions.")
    ] = True,
    retry_failed: Annotated[bool, typer.Option(help="Also retry sessions marked failed.")] = True,
    days: Annotated[int, typer.Option(help="Play only the first N days (1-5).")] = 5,
    scenario: Annotated[Path | None, typer.Option(help="Scenario file.")] = None,
    transcript: Annotated[
        bool, typer.Option(help="Print the dialogue as it is played: each housemate line, then the reply.")
    ] = False,
    progress: Annotated[bool, typer.Option("--progress/--no-progress", help="Live progress display.")] = True,
    relevance_gate: Annotated[
        bool,
        typer.Option(
            "--relevance-gate/--no-relevance-gate",
            help="Check: a reply whose meaning is unrelated to the housemate's line (sentence-encoder "
            "cosine under a per-language floor), as close as a written evasion, or much closer to a "
            "question of another day, gets a follow-up without asking the judge. Its encoder also "
            "has the simulated users resample a reply nearer the side their stance did not take.",
        ),
    ] = True,
    housemates: Annotated[
        str,
        typer.Option(
            help="How housemate lines are written: 'react' (the model reacts to the last answer in one "
            "sentence, then the scenario's question follows; a day opens with the scenario's line) or "
            "'compose' (the model writes the whole line, question included, in its own words).",
        ),
    ] = "react",
    db: DbOpt = None,
) -> None:
    """Let LLM-simulated users, built from synthetic personas, play the five days (resumable)."""
    from sharehouse.cli_simulate import run_simulate_cli
    from sharehouse.engine.npc import HOUSEMATE_MODES
    from sharehouse.simulate import SimulateOptions

    if housemates not in HOUSEMATE_MODES:
        fail(f"--housemates {housemates!r}: expected one of {', '.join(HOUSEMATE_MODES)}", 2)
    executor_option(executor, ray_address)

    opts = SimulateOptions(
        n_personas=personas,
        persona_ids=persona_ids or [],
        persona_file=persona_file,
        language=language,
        model=model,
        user_model=user_model,
        api_base=api_base_option(api_base),
        concurrency=concurrency,
        batched=batched,
        seed=seed,
        temperature=temperature,
        run_id=run_id,
        resume=resume,
        retry_failed=retry_failed,
        days=days,
        scenario=scenario,
        relevance_gate=relevance_gate,
        housemates=housemates,  # type: ignore[arg-type]  # checked by SimulateOptions
        print_transcripts=transcript,
        progress=progress,
        executor=executor,  # type: ignore[arg-type]  # checked by executor_option
        ray_address=ray_address,
    )
    with open_store(db) as store:
        code = asyncio.run(run_simulate_cli(store, opts, console, err))
    raise typer.Exit(code)


# -- the commands and groups of the other modules, in the order --help lists them -----------------
app.command("export")(cli_io.export_command)
app.command("play")(cli_play.play_command)
app.command("serve")(cli_serve.serve_command)
app.command("score")(cli_score.score_command)
app.add_typer(cli_personas.app, name="personas")
cli_io.import_app.command("predictions")(cli_import.predictions_command)
app.add_typer(cli_io.import_app, name="import")
app.add_typer(cli_evaluate.evaluate_app, name="evaluate")
eval_cli_report.report_app.command("realism")(cli_report.realism)
eval_cli_report.report_app.command("quality")(cli_report.quality)
app.add_typer(eval_cli_report.report_app, name="report")
sessions_app.command("withdraw")(cli_study.withdraw_command)
sessions_app.command("compact")(cli_study.compact_command)
app.add_typer(cli_study.study_app, name="study")


def _build() -> typer.Typer:
    """The app with every command mounted (tests drive it with CliRunner)."""
    return app


def main() -> None:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    try:
        app()
    except StoreError as exc:
        print_error(str(exc))
        sys.exit(2)
    except KeyboardInterrupt:
        err.print("interrupted; everything committed so far is kept.")
        sys.exit(130)


if __name__ == "__main__":
    main()
