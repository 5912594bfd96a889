"""``sharehouse play``: the Textual game for a person."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from sharehouse.cli_common import ApiBaseOpt, DbOpt, fail, open_store
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
) -> None:
    """Play the five days in the shared house yourself (quit any time; continue later)."""
    run_play(
        db=db, model=model, api_base=api_base, language=language, researcher=researcher, scenario=scenario
    )


def run_play(
    *,
    db: Path | None,
    model: str,
    api_base: str | None,
    language: str | None,
    researcher: bool,
    scenario: Path | None,
) -> None:
    from sharehouse.llm import parse_spec
    from sharehouse.scenario import ScenarioError, default_scenario_path, load_scenario

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
    store = open_store(db)

    from sharehouse.tui.app import SharehouseApp

    with store:
        app = SharehouseApp(
            store, loaded, researcher=researcher, language=language, model_spec=model, api_base=api_base
        )
        app.run()
    if app.return_code:
        raise typer.Exit(app.return_code)
