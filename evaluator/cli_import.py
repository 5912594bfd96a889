"""``sharehouse import predictions PATH``: other people's predictions as an evaluation run
(``sharehouse.cli`` adds :func:`predictions_command` to the ``import`` group).

sharehouse import predictions ../published/results --run published
sharehouse import predictions preds.jsonl --method few-shot --model my-model --run my-eval
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from sharehouse.cli_common import DbOpt, fail, open_store
from sharehouse.consoles import err_console, out_console


def predictions_command(
    path: Annotated[
        Path,
        typer.Argument(
            help="A published results folder (results/<method>/score/<model>/<lang>/<user>.json) or a "
            "predictions JSONL as `sharehouse score` reads it."
        ),
    ],
    run: Annotated[
        str | None,
        typer.Option(
            "--run",
            help="Evaluation run to import into (an existing run: the predictions join its leaderboard).",
        ),
    ] = None,
    method: Annotated[
        str | None, typer.Option("--method", help="JSONL: method name of lines that give none.")
    ] = None,
    model: Annotated[
        str | None, typer.Option("--model", help="JSONL: model name of lines that give none.")
    ] = None,
    score: Annotated[
        bool, typer.Option("--score/--no-score", help="Score the imported predictions with our M1–M6.")
    ] = True,
    db: DbOpt = None,
) -> None:
    """Import predictions as an evaluation run, matched to the stored YNTP-100 users' day-5 turns
    (run `sharehouse import yntp ../shared/yntp100` first). Published per-turn scores are kept,
    labelled as published, beside ours. A prediction whose message and real reply are not found
    among that user's day-5 turns is reported, not imported. Exit code 1 when nothing was imported."""
    from evaluator.import_predictions import (
        ImportPredictionsError,
        import_items,
        read_jsonl,
        read_published,
        run_config,
    )
    from evaluator.runner import score_run
    from evaluator.scoring import MetricOptions
    from sharehouse.store import new_id
    from sharehouse.store.evaluation import set_run_config

    out, err = out_console(), err_console()
    if not path.exists():
        fail(f"no such file or folder: {path}", 2)
    unknown: list[str] = []
    try:
        if path.is_dir():
            items, problems, unknown = read_published(path)
            origin = {"kind": "published-results", "path": str(path)}
        else:
            items, problems = read_jsonl(path, method=method, model=model)
            origin = {"kind": "predictions-jsonl", "path": str(path)}
    except ImportPredictionsError as exc:
        fail(str(exc), 2)
    run_id = run or new_id("import")
    with open_store(db) as store:
        previous = store.get_run(run_id)
        if previous is not None and previous["kind"] != "evaluate":
            fail(f"run {run_id} is a {previous['kind']} run, not an evaluation run", 2)
        prev_config = previous["config"] if previous else None
        options = MetricOptions(**dict((prev_config or {}).get("metric_options") or {}))
        try:
            if previous is None:
                store.upsert_run(run_id, "evaluate", {})
            report, tasks = import_items(
                store, items, run_id=run_id, origin=origin, problems=problems, unknown_methods=unknown
            )
        except ImportPredictionsError as exc:
            fail(str(exc), 1)
        config = run_config(
            prev_config, report, list(tasks.values()), origin, options.model_dump(mode="json")
        )
        set_run_config(store, run_id, config)
        if previous is None:
            store.set_run_status(run_id, "complete" if not report.unmatched else "partial")
        scored = 0
        if score:
            for m, x in sorted(report.combos):
                scored += score_run(store, run_id, list(tasks.values()), method=m, model=x, options=options)
    for line in report.lines():
        err.print(line, markup=False, highlight=False, soft_wrap=True)
    out.print(
        f"run {run_id}: {report.imported} prediction(s) imported"
        + (f", {report.already} already stored" if report.already else "")
        + f", {len(report.unmatched)} not matched, {scored} scored"
        + f" ({', '.join(f'{m} × {x}' for m, x in sorted(report.combos)) or 'nothing'})"
    )
    out.print(f"show it with: sharehouse evaluate show {run_id}")
    if not report.imported and not report.already:
        raise typer.Exit(1)
