"""Per-language leaderboards of a stored evaluation run, laid out like the paper's tables.

Per-turn scores → user means → z-scores → mean z per method × model × language, Substance =
z1+z2+z3, Style = z4+z5+z6, Overall = their mean, and the K-means type (clustered per language, as
in the paper's Figure 3). By default each metric is standardised within each language (the user
rows of every method and model of that language; population standard deviation): that is how the
published Table 2 was computed. ``z_pool="all"`` standardises over every user row of the run (all
languages together), as the paper's Appendix D.1 words it. The raw table gives the macro means of
M1–M6; the z table adds prediction flags and failed users, so silent problems stay visible.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from evaluator.crosslang import SCORE_COLUMNS, cross_language_rows, describe_missing
from evaluator.method_names import Namer, namer_for, renamed, renamed_keys
from evaluator.methods.clean import FLAGS
from evaluator.metrics.aggregate import (
    DEFAULT_Z_POOL,
    LANGUAGE_ORDER,
    METRICS,
    Z_METRICS,
    ZPool,
    assign_types,
    language_means,
    method_scores,
    user_means,
    zscore_pooled,
)
from evaluator.metrics.specs import spec
from evaluator.published import PUBLISHED, comparison_rows
from sharehouse.lang import ENGLISH_NAMES
from sharehouse.store import Store
from sharehouse.store.evaluation import flag_counts, load_scored_turns, load_user_status

LANGUAGE_TITLES = ENGLISH_NAMES
POOL_WORDS = {"all": "all users", "language": "this language's users"}
_FLAG_SHORT = {
    "leaked_reasoning": "leak",
    "refusal": "refuse",
    "meta_text": "meta",
    "echoed_message": "echo",
    "empty": "empty",
    "wrong_language": "lang",
}


def leaderboard_rows(
    turns: Sequence[dict[str, Any]],
    *,
    flags: dict[tuple[str, str, str], dict[str, int]] | None = None,
    failed_users: dict[tuple[str, str, str], int] | None = None,
    z_pool: ZPool = DEFAULT_Z_POOL,
) -> list[dict[str, Any]]:
    """One row per method × model × language with raw means, mean z, Substance/Style/Overall, type,
    flag counts and failed users; sorted by language, then Overall (best first).

    ``z_pool`` is the set of user rows each metric is standardised over: ``"language"`` (each
    language on its own, as the published Table 2) or ``"all"`` (the whole run)."""
    users = user_means(turns)
    raw = {(r["method"], r["model"], r["language"]): r for r in language_means(users)}
    turn_counts: dict[tuple[str, str, str], int] = {}
    for t in turns:
        key = (t["method"], t["model"], t["language"])
        turn_counts[key] = turn_counts.get(key, 0) + 1
    rows = assign_types(method_scores(zscore_pooled(users, z_pool)), by="language")
    for row in rows:
        key = (row["method"], row["model"], row["language"])
        for m in METRICS:
            row[m] = raw[key][m]
        row["turns"] = turn_counts.get(key, 0)
        counts = (flags or {}).get(key, {})
        for f in FLAGS:
            row[f] = counts.get(f, 0)
        row["predictions"] = counts.get("predictions", row["turns"])
        row["failed_users"] = (failed_users or {}).get(key, 0)
    rows.sort(
        key=lambda r: (
            LANGUAGE_ORDER.get(r["language"], 9),
            -(r["overall"] if r["overall"] is not None else float("-inf")),
            r["method"],
            r["model"],
        )
    )
    return rows


def run_namer(store: Store, run_id: str) -> Namer:
    """How the methods of a stored run are shown (:mod:`evaluator.method_names`)."""
    info = store.get_run(run_id)
    return namer_for(info["config"] if info else None)


def run_scored_turns(store: Store, run_id: str) -> list[dict[str, Any]]:
    """The run's scored turns under the names of the methods that ran."""
    return renamed(load_scored_turns(store, run_id), run_namer(store, run_id))


def run_leaderboard(store: Store, run_id: str, *, z_pool: ZPool = DEFAULT_Z_POOL) -> list[dict[str, Any]]:
    """:func:`leaderboard_rows` of a stored run."""
    name = run_namer(store, run_id)
    failed: dict[tuple[str, str, str], int] = {}
    for st in load_user_status(store, run_id):
        if st.status != "ok":
            key = (name(st.method, st.model), st.model, st.language)
            failed[key] = failed.get(key, 0) + 1
    return leaderboard_rows(
        renamed(load_scored_turns(store, run_id), name),
        flags=renamed_keys(flag_counts(store, run_id), name),
        failed_users=failed,
        z_pool=z_pool,
    )


def _f(value: float | None, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def leaderboard_tables(
    rows: Sequence[dict[str, Any]], *, title: str = "", z_pool: ZPool = DEFAULT_Z_POOL
) -> list[Table]:
    """Two tables per language: raw macro means (M1–M6), and z-scores with Substance/Style/Overall."""
    tables: list[Table] = []
    langs = sorted({r["language"] for r in rows}, key=lambda x: LANGUAGE_ORDER.get(x, 9))
    for lang in langs:
        mine = [r for r in rows if r["language"] == lang]
        n_users = max((r["users"] for r in mine), default=0)
        name = LANGUAGE_TITLES.get(lang, lang)
        raw = Table(title=f"{title}{name} ({n_users} users): raw scores, macro mean over users")
        raw.add_column("Method")
        raw.add_column("Model")
        raw.add_column("users", justify="right")
        raw.add_column("turns", justify="right")
        for m in METRICS:
            raw.add_column(spec(m).head, justify="right")
        for r in mine:
            raw.add_row(
                r["method"], r["model"], str(r["users"]), str(r["turns"]), *(_f(r[m], 4) for m in METRICS)
            )
        tables.append(raw)

        z = Table(
            title=f"{title}{name}: z-scores over {POOL_WORDS[z_pool]} (higher is better), "
            "Substance = z1+z2+z3, Style = z4+z5+z6",
            caption="flags: leak = leaked reasoning, refuse = refusal, meta = talk about the reply, echo = copies "
            "the message, empty, lang = wrong language; "
            "failed = users whose fit or a prediction failed",
        )
        z.add_column("Method")
        z.add_column("Model")
        for m in Z_METRICS:
            z.add_column(m, justify="right")
        z.add_column("Substance", justify="right")
        z.add_column("Style", justify="right")
        z.add_column("Overall", justify="right", style="bold")
        z.add_column("Type")
        z.add_column("flags")
        z.add_column("failed", justify="right")
        for r in mine:
            flagged = ", ".join(f"{_FLAG_SHORT[f]} {r[f]}" for f in FLAGS if r.get(f))
            z.add_row(
                r["method"],
                r["model"],
                *(_f(r[m]) for m in Z_METRICS),
                _f(r["substance"]),
                _f(r["style"]),
                _f(r["overall"]),
                r["type"] or "–",
                flagged or "–",
                str(r["failed_users"]) if r["failed_users"] else "–",
            )
        tables.append(z)
    return tables


#: Rich styles of the best, second and third value of a cross-language column (as the paper marks them).
PLACE_STYLES: dict[int, str] = {1: "bold", 2: "underline", 3: "italic"}


def cross_language_table(
    cross: Sequence[dict[str, Any]], *, title: str = "", z_pool: ZPool = DEFAULT_Z_POOL
) -> Table:
    """The cross-language leaderboard of :func:`evaluator.crosslang.cross_language_rows`."""
    langs = sorted({lang for r in cross for lang in r["languages"]}, key=lambda x: LANGUAGE_ORDER.get(x, 9))
    table = Table(
        title=f"{title}across languages ({', '.join(langs)}), z over {POOL_WORDS[z_pool]}: "
        "Substance = mean z1–z3, Style = mean z4–z6 over the languages, Overall = their mean",
        caption="bold = best, underlined = second, italic = third; a configuration without every language "
        "(or z-score) is listed unranked with what it has",
    )
    table.add_column("Rk", justify="right")
    table.add_column("Method")
    table.add_column("Model")
    for col in SCORE_COLUMNS:
        table.add_column(col.capitalize(), justify="right")
    table.add_column("languages")
    table.add_column("missing")
    for r in cross:
        cells = [
            Text(_f(r[col], 2), style=PLACE_STYLES.get(r["places"].get(col, 0), ""), justify="right")
            for col in SCORE_COLUMNS
        ]
        table.add_row(
            str(r["rank"]) if r["rank"] is not None else "–",
            r["method"],
            r["model"],
            *cells,
            ",".join(r["languages"]),
            describe_missing(r),
        )
    return table


def run_published(store: Store, run_id: str) -> list[dict[str, Any]]:
    """:func:`evaluator.published.comparison_rows` of a stored run (empty unless it holds imported
    predictions with published scores)."""
    from evaluator.import_predictions import published_rows

    name = run_namer(store, run_id)
    published = renamed(published_rows(store, run_id), name)
    if not published:
        return []
    return comparison_rows(renamed(load_scored_turns(store, run_id), name), published)


def published_table(rows: Sequence[dict[str, Any]], *, title: str = "") -> Table:
    """Our recomputed scores and the published ones of the same turns, one row each."""
    table = Table(
        title=f"{title}published scores beside ours: raw macro means over users of the same turns",
        caption="published = the per-turn scores published with the predictions; ours = recomputed "
        "with this project's metrics (see the README on M1)",
    )
    for col in ("Language", "Method", "Model", "scores", "users", "turns"):
        table.add_column(col, justify="right" if col in ("users", "turns") else "left")
    for m in METRICS:
        table.add_column(spec(m).head, justify="right")
    for r in rows:
        table.add_row(
            LANGUAGE_TITLES.get(r["language"], r["language"]),
            r["method"],
            r["model"],
            Text(r["scores"], style="bold" if r["scores"] == PUBLISHED else ""),
            str(r["users"]),
            str(r["turns"]),
            *(_f(r[m], 4) for m in METRICS),
        )
    return table


def print_published(console: Console, store: Store, run_id: str) -> list[dict[str, Any]]:
    """Print the published scores beside ours; returns the rows (empty: nothing published)."""
    rows = run_published(store, run_id)
    if not rows:
        console.print(f"run {run_id}: no published scores (only imported published results carry them)")
        return rows
    console.print(published_table(rows, title=f"{run_id} · "))
    return rows


def print_leaderboard(
    console: Console, store: Store, run_id: str, *, z_pool: ZPool = DEFAULT_Z_POOL
) -> list[dict[str, Any]]:
    """Print the leaderboards of a run; returns the rows (empty when nothing is scored yet)."""
    rows = run_leaderboard(store, run_id, z_pool=z_pool)
    if not rows:
        console.print(f"run {run_id}: no scored predictions yet")
        return rows
    for table in leaderboard_tables(rows, title=f"{run_id} · ", z_pool=z_pool):
        console.print(table)
    console.print(cross_language_table(cross_language_rows(rows), title=f"{run_id} · ", z_pool=z_pool))
    return rows
