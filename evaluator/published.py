"""Published per-turn scores beside ours: for imported runs that kept the scores published with
the predictions (:func:`evaluator.import_predictions.published_rows`), the macro means of both,
aggregated the same way (turn → user mean → language mean), over the same turns."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from evaluator.metrics.aggregate import LANGUAGE_ORDER, METRICS, language_means, user_means

OURS, PUBLISHED = "ours", "published"
#: Columns of a comparison row: ``scores`` says whose numbers the row holds.
COMPARISON_COLUMNS: tuple[str, ...] = ("language", "method", "model", "scores", "users", "turns", *METRICS)


def _turn_key(row: Mapping[str, Any]) -> tuple[Any, ...]:
    return (row["method"], row["model"], row["session_id"], row["day"], row["idx"])


def _macro(turns: Sequence[Mapping[str, Any]], label: str) -> dict[tuple[str, str, str], dict[str, Any]]:
    counts: dict[tuple[str, str, str], int] = {}
    for t in turns:
        key = (t["method"], t["model"], t["language"])
        counts[key] = counts.get(key, 0) + 1
    out = {}
    for r in language_means(user_means(turns)):
        key = (r["method"], r["model"], r["language"])
        out[key] = {**r, "scores": label, "turns": counts.get(key, 0)}
    return out


def comparison_rows(
    ours: Sequence[Mapping[str, Any]], published: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """Per language × method × model that has published scores: a ``published`` row and an
    ``ours`` row (our scores of the same turns), each the macro mean over users of the user means.
    Rows need method, model, language, user, session_id, day, idx and m1…m6."""
    if not published:
        return []
    keys = {_turn_key(p) for p in published}
    theirs = _macro(published, PUBLISHED)
    mine = _macro([t for t in ours if _turn_key(t) in keys], OURS)
    rows: list[dict[str, Any]] = []
    for key in sorted(theirs, key=lambda k: (LANGUAGE_ORDER.get(k[2], 9), k[0], k[1])):
        empty = {"method": key[0], "model": key[1], "language": key[2], "users": 0, "turns": 0}
        rows.append({c: mine.get(key, {**empty, "scores": OURS}).get(c) for c in COMPARISON_COLUMNS})
        rows.append({c: theirs[key].get(c) for c in COMPARISON_COLUMNS})
    return rows
