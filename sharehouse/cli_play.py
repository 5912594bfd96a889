"""``sharehouse play``: the Textual game for a person."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from sharehouse.cli_common import ApiBaseOpt, DbOpt, api_base_option, fail, open_store
from sharehouse.consoles import err_console
from sharehouse.lang import canonical


def play_command(
    db: DbOpt = None,
    model: Annotated[
        str,
        typer.Option("--model", help="Model spec: local, local:small, local:/x.gguf, or a litellm model."),
    ] = "local",
    api_base: ApiBaseOpt = None,
    language: Annotated[
        str | None, typer.Option("--language", help="Interface and housemate language: en, ja or zh.")
    ] = None,
    researcher: Annotated[
        bool, typer.Option("--researcher", help="Show each question's state id and MBTI dimension.")
    ] = False,
    scenario: Annotated[Path | None, typer.Option("--scenario", help="Scenario file.")] = None,
    participant: Annotated[
        bool,
        typer.Option(
            "--participant",
            help="Participant mode for a study: consent and a resume code; no evaluator, saved-game list or settings.",
        ),
    ] = False,
    study: Annotated[
        Path | None,
        typer.Option(
            "--study",
            help="Study file (JSON or TOML) naming the participant instruments; with --participant.",
        ),
    ] = None,
) -> None:
    """Play the five days in the shared house yourself (quit any time; continue later)."""
    run_play(
        db=db,
        model=model,
        api_base=api_base_option(api_base),
        language=language,
        researcher=researcher,
        scenario=scenario,
        participant=participant,
        study=study,
    )


def run_play(
    *,
    db: Path | None,
    model: str,
    api_base: str | None,
    language: str | None,
    researcher: bool,
    scenario: Path | None,
    participant: bool = False,
    study: Path | None = None,
) -> None:
    from sharehouse.llm import parse_spec
    from sharehouse.scenario import ScenarioError, default_scenario_path, load_scenario
    from sharehouse.study.config import StudyConfig, StudyError, load_study

    if participant and researcher:
        fail(
            "--participant and --researcher cannot be combined: participants do not see the researcher's view",
            2,
        )
    if study is not None and not participant:
        fail("--study needs --participant", 2)

    if language is not None:
        try:
            language = canonical(language)
        except ValueError as exc:
            fail(f"--language: {exc}", 2)
    try:
        parse_spec(model, api_base=api_base)
    except ValueError as exc:
        fail(f"--model: {exc}", 2)
    try:
        loaded = load_scenario(scenario or default_scenario_path())
    except ScenarioError as exc:
        err = err_console()
        for line in exc.lines():
            err.print(line, markup=False, highlight=False)
        raise typer.Exit(2) from exc
    study_config: StudyConfig | None = None
    if participant:
        try:
            study_config = load_study(study) if study is not None else StudyConfig()
        except StudyError as exc:
            fail(str(exc), 2)
    store = open_store(db, shared=participant)  # a study's games are many processes on one file

    from sharehouse.tui.app import SharehouseApp

    with store:
        app = SharehouseApp(
            store,
            loaded,
            researcher=researcher,
            language=language,
            model_spec=model,
            api_base=api_base,
            participant=participant,
            study=study_config,
        )
        app.run()
    if app.return_code:
        raise typer.Exit(app.return_code)
