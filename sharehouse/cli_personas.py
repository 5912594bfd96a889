"""`sharehouse personas ...`: generate, inspect and validate persona files."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from sharehouse.cli_common import DbOpt, fail, open_store
from sharehouse.consoles import out_console
from sharehouse.lang import parse_languages
from sharehouse.personas.generate import SUPPORTED_LANGUAGES, generate_personas
from sharehouse.personas.io import (
    PersonaFileError,
    default_personas_path,
    load_personas,
    write_personas_jsonl,
)
from sharehouse.personas.models import MBTI_TYPES, Persona
from sharehouse.personas.prompt import persona_prompt

app = typer.Typer(
    help="Synthetic personas for the simulator: generate a balanced set, show one, validate a file.",
    no_args_is_help=True,
)


def _console() -> Console:
    return out_console()


def _summary(personas: list[Persona]) -> Table:
    langs = Counter(p.language for p in personas)
    types = Counter(p.mbti for p in personas)
    table = Table(title=f"{len(personas)} personas")
    table.add_column("language")
    table.add_column("count", justify="right")
    for lang in sorted(langs):
        table.add_row(lang, str(langs[lang]))
    table.add_section()
    for mbti in MBTI_TYPES:
        table.add_row(mbti, str(types.get(mbti, 0)))
    return table


@app.command()
def generate(
    n: Annotated[int, typer.Option("--n", min=1, help="How many personas to generate.")] = 100,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed always gives the same personas.")] = 0,
    languages: Annotated[
        str, typer.Option(help="Comma-separated languages to balance over (en, ja, zh).")
    ] = ",".join(SUPPORTED_LANGUAGES),
    out: Annotated[Path, typer.Option(help="Where to write the JSON Lines file.")] = Path(
        "personas/default.jsonl"
    ),
) -> None:
    """Generate N balanced, varied personas and write them as JSON Lines."""
    try:
        personas = generate_personas(n, seed=seed, languages=parse_languages(languages))
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--languages") from exc
    path = write_personas_jsonl(out, personas)
    console = _console()
    console.print(_summary(personas))
    console.print(f"wrote {len(personas)} personas to [bold]{path}[/bold]")


@app.command()
def show(
    persona_id: Annotated[str, typer.Argument(metavar="ID", help="Persona id, e.g. p-ja-007.")],
    file: Annotated[
        Path | None,
        typer.Option(
            "--file", "-f", help="Persona file (default: the shipped sharehouse/data/default_personas.jsonl)."
        ),
    ] = None,
) -> None:
    """Show one persona: who they are, how they write and the prompt the simulator gives the model."""
    console = _console()
    path = file or default_personas_path()
    try:
        personas = {p.id: p for p in load_personas(path)}
    except PersonaFileError as exc:
        fail(str(exc), 1)
    persona = personas.get(persona_id)
    if persona is None:
        fail(f"no persona {persona_id!r} in {path} (ids look like {next(iter(personas))!r})", 1)
    s = persona.style
    rl = s.reply_length
    body = Table.grid(padding=(0, 2))
    body.add_column(style="bold")
    body.add_column()
    rows = [
        ("language", persona.language),
        ("age", str(persona.age)),
        ("occupation", persona.occupation),
        ("background", persona.background),
        (
            "MBTI",
            f"{persona.mbti}  "
            + " ".join(f"{k}={v:.2f}" for k, v in persona.mbti_strength.model_dump().items()),
        ),
        ("values", ", ".join(persona.values)),
        ("preferences", ", ".join(persona.preferences)),
        ("length", f"{rl.min}-{rl.max} {rl.unit} ({s.elaboration})"),
        ("formality", s.formality),
        ("first person", s.first_person or "-"),
        ("punctuation", s.punctuation),
        ("emoji / typos", f"{s.emoji_rate:.2f} / {s.typo_rate:.2f}"),
        ("casing / line breaks", f"{s.casing} / {s.line_breaks}"),
    ]
    for key, value in rows:
        body.add_row(key, value)
    for i, example in enumerate(s.style_examples, start=1):
        body.add_row(f"example {i}", f"{example.question}\n→ {example.answer}")
    for i, sample in enumerate(s.sample_replies, start=1):
        body.add_row(f"sample {i}", sample)
    console.print(Panel(body, title=f"{persona.id} · {persona.name}", expand=False))
    console.print(Panel(persona_prompt(persona), title="persona prompt", expand=False))


@app.command()
def validate(file: Annotated[Path, typer.Argument(help="Persona JSON Lines file to check.")]) -> None:
    """Check a persona file (JSON, schema, unique ids); exit code 1 with the line and field on error."""
    console = _console()
    try:
        personas = load_personas(file)
    except PersonaFileError as exc:
        fail(str(exc), 1, label="invalid")
    console.print(_summary(personas))
    console.print(f"[green]ok[/green]: {len(personas)} valid personas in {file}")


@app.command()
def recover(
    run: Annotated[str, typer.Option("--run", help="Simulate run id whose stored stances to read.")],
    file: Annotated[
        Path | None,
        typer.Option(
            "--file",
            "-f",
            help="Persona file of the run (default: the shipped sharehouse/data/default_personas.jsonl).",
        ),
    ] = None,
    db: DbOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Recover each persona's MBTI letters from the stances stored with a run's turns (majority per
    dimension, ties unresolved) and report the agreement with the personas' types."""
    import json

    from sharehouse.personas.stance import DIMENSIONS
    from sharehouse.personas.traits import recover_traits, run_stances

    console = _console()
    try:
        personas = {p.id: p for p in load_personas(file or default_personas_path())}
    except PersonaFileError as exc:
        fail(str(exc), 1)
    with open_store(db, read_only=True) as store:
        stances = run_stances(store, run)
    report = recover_traits(stances, personas)
    if not report.personas:
        fail(f"no stored stances of known personas in run {run!r}", 1)
    if as_json:
        console.print_json(json.dumps(report.to_json(), ensure_ascii=False))
        return
    table = Table(title=f"trait recovery from stances · run {run}")
    for col in ("persona", "lang", "type", "recovered", *DIMENSIONS):
        table.add_column(col)
    for p in report.personas:
        votes = [" ".join(f"{k}{v}" for k, v in sorted(p.votes[d].items())) or "-" for d in DIMENSIONS]
        table.add_row(p.persona_id, p.language, p.mbti, p.recovered, *votes)
    console.print(table)
    summary = report.to_json()
    langs = ", ".join(f"{lang} {v:.0%}" for lang, v in summary["by_language"].items() if v is not None)
    console.print(f"letters recovered: {summary['agreement']:.0%} ({langs})")
