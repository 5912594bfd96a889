"""Other people's predictions as an evaluation run, so that they share a leaderboard with ours.

Two inputs:

- the published YNTP-100 results layout ``results/<method>/score/<model>/<lang>/<user>.json``,
  each file ``{"scores": [{"message", "response", "prediction", "scores": {...}}]}``; method
  directories map to our method names (:data:`PUBLISHED_METHODS`), ``cn`` → zh and ``jp`` → ja;
- the predictions JSONL that ``sharehouse score`` reads (``user``, ``language``, ``message``,
  ``reference``, ``prediction``, optional ``method`` / ``model`` / ``source``).

Every prediction is matched to a day-5 turn of the same user among the stored sessions of the
source (default ``yntp100``, so ``sharehouse import yntp`` must have run): the message and the
real reply must both be found (whitespace at the ends ignored). A prediction that cannot be matched
is reported with its file and position, never guessed. Matched predictions are stored as
predictions of the run (``raw`` = the prediction as given); the published per-turn scores are kept,
labelled ``published_scores`` and mapped to ``m1`` … ``m6``, in each prediction's ``params`` (with
``imported_from``), beside the scores our metrics compute in ``eval_scores``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evaluator.methods.base import UserTask
from evaluator.methods.clean import detect_flags
from evaluator.metrics.specs import published_columns
from evaluator.metrics.tokenize import normalize_language
from sharehouse.store import Store
from sharehouse.store.evaluation import PredictionRecord, UserStatusRecord, insert_prediction, put_user_status

#: Method directories of the published results → our method names.
PUBLISHED_METHODS: dict[str, str] = {
    "Prompt Eng. (zero-shot)": "zero-shot",
    "Prompt Eng. (few-shot)": "few-shot",
    "Chain-of- Thought": "cot",
    "Chain-of-Thought": "cot",
    "Fine-tuning": "lora",
    "DPO": "dpo",
    "Aligner": "aligner",
}
#: Keys of a published per-turn ``scores`` object → our metric columns (:mod:`evaluator.metrics.specs`).
PUBLISHED_SCORE_KEYS: dict[str, str] = published_columns()
DEFAULT_SOURCE = "yntp100"


class ImportPredictionsError(Exception):
    """The input cannot be imported at all (nothing to match against, unreadable layout)."""


@dataclass
class Incoming:
    """One prediction to import, before matching."""

    where: str  # file (and line or entry) it came from
    method: str
    model: str
    user: str
    language: str
    message: str
    reference: str
    prediction: str
    source: str = DEFAULT_SOURCE
    published: dict[str, float | None] | None = None


@dataclass
class ImportReport:
    run_id: str
    imported: int = 0
    already: int = 0
    unmatched: list[tuple[str, str]] = field(default_factory=list)  # (where, why)
    unknown_methods: list[str] = field(default_factory=list)
    combos: set[tuple[str, str]] = field(default_factory=set)

    def lines(self) -> list[str]:
        out = [f"{where}: not imported: {why}" for where, why in self.unmatched]
        out += [
            f"unknown method directory {name!r} (known: {', '.join(PUBLISHED_METHODS)})"
            for name in self.unknown_methods
        ]
        return out


def _published_scores(raw: Any) -> dict[str, float | None]:
    got: dict[str, float | None] = {}
    if isinstance(raw, Mapping):
        for key, col in PUBLISHED_SCORE_KEYS.items():
            v = raw.get(key)
            got[col] = float(v) if isinstance(v, int | float) and not isinstance(v, bool) else None
    return got


def _results_root(path: Path) -> Path:
    return path / "results" if (path / "results").is_dir() else path


def read_published(path: Path) -> tuple[list[Incoming], list[tuple[str, str]], list[str]]:
    """The predictions of a published results tree, the (file, problem) of each unreadable file,
    and the method directories that map to no method of ours."""
    root = _results_root(path)
    items: list[Incoming] = []
    problems: list[tuple[str, str]] = []
    unknown: list[str] = []
    for method_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        method = PUBLISHED_METHODS.get(method_dir.name)
        if method is None:
            unknown.append(method_dir.name)
            continue
        for file in sorted((method_dir / "score").glob("*/*/*.json")):
            model, lang_dir = file.parent.parent.name, file.parent.name
            rel = str(file.relative_to(root))
            try:
                language = normalize_language(lang_dir)
                data = json.loads(file.read_text(encoding="utf-8"))
                entries = data["scores"]
                if not isinstance(entries, list):
                    raise TypeError("'scores' is not a list")
            except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
                problems.append((rel, f"unreadable ({exc})"))
                continue
            for i, e in enumerate(entries):
                if not isinstance(e, Mapping) or not all(
                    isinstance(e.get(k), str) for k in ("message", "response", "prediction")
                ):
                    problems.append((f"{rel} #{i}", "needs message, response and prediction strings"))
                    continue
                items.append(
                    Incoming(
                        where=f"{rel} #{i}", method=method, model=model, user=file.stem, language=language,
                        message=e["message"], reference=e["response"], prediction=e["prediction"],
                        published=_published_scores(e.get("scores")),
                    )
                )  # fmt: skip
    if not items and not problems and not unknown:
        raise ImportPredictionsError(
            f"no results/<method>/score/<model>/<lang>/<user>.json files under {path}"
        )
    return items, problems, unknown


def read_jsonl(
    path: Path, *, method: str | None, model: str | None
) -> tuple[list[Incoming], list[tuple[str, str]]]:
    """The predictions of a ``score`` JSONL file (``method``/``model`` fill lines without them)."""
    from evaluator.cli_score import read_pairs

    pairs, errors = read_pairs(path)
    problems = [(f"{path.name}:{n}", why) for n, why in errors]
    items: list[Incoming] = []
    for number, pair in enumerate(pairs, start=1):
        m, x = pair.method or method, pair.model or model
        if not m or not x:
            problems.append((f"{path.name} pair {number}", "no method/model (give --method and --model)"))
            continue
        items.append(
            Incoming(
                where=f"{path.name} pair {number}", method=m, model=x, user=pair.user, language=pair.language,
                message=pair.message, reference=pair.reference, prediction=pair.prediction,
                source=pair.source or DEFAULT_SOURCE,
            )
        )  # fmt: skip
    return items, problems


def _tasks_by_user(store: Store, source: str) -> dict[str, UserTask]:
    from evaluator.task import build_tasks

    tasks, _ = build_tasks(store, source=source)
    return {t.user_id: t for t in tasks}


def import_items(
    store: Store,
    items: Sequence[Incoming],
    *,
    run_id: str,
    origin: Mapping[str, Any],
    problems: Sequence[tuple[str, str]] = (),
    unknown_methods: Sequence[str] = (),
) -> tuple[ImportReport, dict[str, UserTask]]:
    """Match and store ``items`` as predictions of ``run_id`` (created, or extended when it exists);
    returns the report and the tasks of the matched users (for M6's history when scoring)."""
    report = ImportReport(run_id=run_id, unmatched=list(problems), unknown_methods=list(unknown_methods))
    tasks: dict[str, dict[str, UserTask]] = {}
    for src in sorted({i.source for i in items}):
        tasks[src] = _tasks_by_user(store, src)
        if not tasks[src]:
            hint = " (run: sharehouse import yntp ../shared/yntp100)" if src == DEFAULT_SOURCE else ""
            raise ImportPredictionsError(f"no sessions of source {src!r} with day-5 turns in the store{hint}")
    used: set[tuple[str, str, str, int, int]] = set()  # method, model, session, day, idx
    matched_tasks: dict[str, UserTask] = {}
    for item in items:
        task = tasks[item.source].get(item.user)
        if task is None:
            report.unmatched.append((item.where, f"user {item.user} not among the {item.source} sessions"))
            continue
        if task.language != item.language:
            report.unmatched.append((item.where, f"user {item.user} is {task.language}, not {item.language}"))
            continue
        hit = next(
            (
                t for t in task.tests
                if t.message.strip() == item.message.strip() and t.reference.strip() == item.reference.strip()
                and (item.method, item.model, t.session_id, t.day, t.idx) not in used
            ),
            None,
        )  # fmt: skip
        if hit is None:
            report.unmatched.append(
                (item.where, f"message and reply not found among {item.user}'s day-5 turns")
            )
            continue
        used.add((item.method, item.model, hit.session_id, hit.day, hit.idx))
        params: dict[str, Any] = {"imported_from": dict(origin)}
        if item.published is not None:
            params["published_scores"] = item.published
        rec = PredictionRecord(
            eval_run=run_id, method=item.method, model=item.model, user_id=item.user, language=task.language,
            session_id=hit.session_id, day=hit.day, idx=hit.idx, npc=hit.npc, message=hit.message,
            reference=hit.reference, prediction=item.prediction, raw=item.prediction,
            flags=detect_flags(item.prediction, item.prediction, language=task.language, message=hit.message),
            params=params,
        )  # fmt: skip
        if insert_prediction(store, rec):
            report.imported += 1
        else:
            report.already += 1
        report.combos.add((item.method, item.model))
        matched_tasks[task.session_id] = task
        put_user_status(
            store,
            UserStatusRecord(
                eval_run=run_id, method=item.method, model=item.model, session_id=task.session_id,
                user_id=task.user_id, language=task.language, status="ok",
            ),
        )  # fmt: skip
    return report, matched_tasks


def run_config(
    previous: Mapping[str, Any] | None,
    report: ImportReport,
    tasks: Sequence[UserTask],
    origin: Mapping[str, Any],
    metric_options: Mapping[str, Any],
) -> dict[str, Any]:
    """The run's config after an import: methods, models, users and sessions merged with what the
    run had, the import (what, from where, how many matched, the unmatched) appended to ``imports``."""
    prev = dict(previous or {})

    def merge(old: Any, new: Sequence[str]) -> list[str]:
        return list(dict.fromkeys([*(old or []), *new]))

    combos = sorted(report.combos)
    entry = {
        **origin,
        "imported": report.imported,
        "already_stored": report.already,
        "unmatched": [f"{w}: {why}" for w, why in report.unmatched],
        "combinations": [list(c) for c in combos],
    }
    return {
        **prev,
        "selection": prev.get("selection") or {"source": origin.get("source", DEFAULT_SOURCE)},
        "methods": merge(prev.get("methods"), [m for m, _ in combos]),
        "models": merge(prev.get("models"), [x for _, x in combos]),
        "seed": prev.get("seed", 0),
        "seeds": prev.get("seeds", [0]),
        "metric_options": dict(prev.get("metric_options") or metric_options),
        "users": merge(prev.get("users"), [t.user_id for t in tasks]),
        "sessions": merge(prev.get("sessions"), [t.session_id for t in tasks]),
        "imports": [*prev.get("imports", []), entry],
    }


def published_rows(store: Store, run_id: str) -> list[dict[str, Any]]:
    """Per-turn rows (method, model, language, user, m1…m6) of the *published* scores kept with
    imported predictions: feed them to the aggregation like our own scores."""
    rows = store.fetchall(
        "SELECT method, model, language, user_id, session_id, day, idx, params FROM eval_predictions "
        "WHERE eval_run = ? AND json_extract(params, '$.published_scores') IS NOT NULL",
        [run_id],
    )
    out: list[dict[str, Any]] = []
    for method, model, language, user, sid, day, idx, params in rows:
        scores = (
            json.loads(params)["published_scores"] if isinstance(params, str) else params["published_scores"]
        )
        out.append({"method": method, "model": model, "language": language, "user": user, "session_id": sid,
                    "day": day, "idx": idx, **{f"m{k}": scores.get(f"m{k}") for k in range(1, 7)}})  # fmt: skip
    return out
