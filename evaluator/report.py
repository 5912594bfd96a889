"""Evaluation report: the paper-style tables (raw M1–M6, z-scores with Substance / Style / Overall,
win/tie/lose counts) as CSV, Markdown and LaTeX, and figures as PNG + SVG.

:func:`build_report` is pure: per-turn score rows in, numbers out. :func:`write_report` puts the
tables and figures of a :class:`Report` into a directory (matplotlib with the Agg backend).

Win/tie/lose: within one configuration (a model × a language), every method is compared with
every other method on each metric's mean z-score; a difference of at most ``tie_tol`` is a tie
(default :data:`DEFAULT_TIE_TOL`, a twentieth of a standard deviation).

The cross-language leaderboard (the paper's Table 3, see :mod:`evaluator.crosslang`) is
``leaderboard`` as ``.csv`` (with the place of each value), ``.md`` and ``.tex`` with the best,
second and third value of each column in bold, underlined and italic.

Files: ``raw``, ``zscores``, ``leaderboard`` and ``win_tie_lose`` as ``.csv`` (every language, with a language
column), ``.md`` and ``.tex``; per language also ``raw_<lang>.csv`` and ``zscores_<lang>.csv``;
for runs with imported published scores ``published`` as ``.csv``, ``.md`` and ``.tex`` (our
recomputed raw means and the published ones of the same turns, rows labelled ``ours`` /
``published``, see :mod:`evaluator.published`);
figures ``heatmap_<lang>``, ``scatter_<lang>`` and ``win_tie_lose`` as PNG and SVG; and
``settings.json`` (see :func:`report_settings`).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from evaluator.crosslang import SCORE_COLUMNS, cross_language_rows, describe_missing
from evaluator.leaderboard import LANGUAGE_ORDER, LANGUAGE_TITLES, ZPool, leaderboard_rows
from evaluator.method_names import namer_for
from evaluator.metrics.aggregate import DEFAULT_Z_POOL, METRICS, TYPE_NAMES, Z_METRICS
from evaluator.metrics.specs import METRIC_SPECS
from evaluator.protocols import run_protocol
from evaluator.published import COMPARISON_COLUMNS

RAW_COLUMNS: tuple[str, ...] = ("language", "method", "model", "users", "turns", *METRICS)
Z_COLUMNS: tuple[str, ...] = (
    "language", "method", "model", *Z_METRICS, "substance", "style", "overall", "type",
)  # fmt: skip
WTL_COLUMNS: tuple[str, ...] = ("method", "metric", "win", "tie", "lose")
CROSS_COLUMNS: tuple[str, ...] = (
    "rank", "method", "model", *SCORE_COLUMNS, "languages", "missing",
    *(f"place_{c}" for c in SCORE_COLUMNS),
)  # fmt: skip
#: Two mean z-scores closer than this tie (z is in standard deviations of the language's users).
DEFAULT_TIE_TOL = 0.05
HEADINGS: dict[str, str] = {
    "language": "Language", "method": "Method", "model": "Model", "users": "Users", "turns": "Turns",
    **{s.key: s.label for s in METRIC_SPECS}, **{s.z_key: s.z_key for s in METRIC_SPECS},
    "substance": "Substance", "style": "Style", "overall": "Overall", "type": "Type",
    "metric": "Metric", "win": "Win", "tie": "Tie", "lose": "Lose", "rank": "Rk", "languages": "Languages",
    "missing": "Missing", "scores": "Scores",
}  # fmt: skip
_TYPE_COLOURS = {
    TYPE_NAMES[0]: "#d62728",
    TYPE_NAMES[1]: "#ff7f0e",
    TYPE_NAMES[2]: "#2ca02c",
    None: "#7f7f7f",
}


class Report(BaseModel):
    """The numbers of an evaluation report; rows are plain dicts keyed like the *_COLUMNS."""

    raw: list[dict[str, Any]] = Field(default_factory=list)
    z: list[dict[str, Any]] = Field(default_factory=list)
    win_tie_lose: list[dict[str, Any]] = Field(default_factory=list)
    cross: list[dict[str, Any]] = Field(default_factory=list)  # evaluator.crosslang rows
    published: list[dict[str, Any]] = Field(default_factory=list)  # evaluator.published rows
    tie_tol: float = DEFAULT_TIE_TOL
    z_pool: str = DEFAULT_Z_POOL

    @property
    def languages(self) -> list[str]:
        found = {r["language"] for r in [*self.raw, *self.published]}
        return sorted(found, key=lambda x: (LANGUAGE_ORDER.get(x, 9), x))


def _metric_key(metric: str) -> str:
    return "z" + metric[1:]


def win_tie_lose(
    z_rows: Sequence[Mapping[str, Any]], *, tie_tol: float = DEFAULT_TIE_TOL
) -> list[dict[str, Any]]:
    """Per method and metric: pairwise wins, ties and losses against the other methods of the same
    model × language, on mean z (higher is better for every z)."""
    configs: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for r in z_rows:
        configs.setdefault((r["model"], r["language"]), []).append(r)
    counts: dict[tuple[str, str], dict[str, int]] = {}
    methods = sorted({r["method"] for r in z_rows})
    for method in methods:
        for m in METRICS:
            counts[(method, m)] = {"win": 0, "tie": 0, "lose": 0}
    for members in configs.values():
        for a in members:
            for b in members:
                if a is b:
                    continue
                for m in METRICS:
                    za, zb = a.get(_metric_key(m)), b.get(_metric_key(m))
                    if za is None or zb is None:
                        continue
                    diff = za - zb
                    outcome = "tie" if abs(diff) <= tie_tol else ("win" if diff > 0 else "lose")
                    counts[(a["method"], m)][outcome] += 1
    return [{"method": meth, "metric": m, **counts[(meth, m)]} for meth in methods for m in METRICS]


def build_report(
    rows: Sequence[Any],
    *,
    tie_tol: float = DEFAULT_TIE_TOL,
    z_pool: ZPool = DEFAULT_Z_POOL,
    published: Sequence[Mapping[str, Any]] = (),
) -> Report:
    """The report's numbers from per-turn score rows (keys method, model, language, user, m1…m6);
    ``z_pool`` as in :func:`evaluator.leaderboard.leaderboard_rows` (per language, or all users);
    ``published``: :func:`evaluator.published.comparison_rows`, reported as they are."""
    if tie_tol < 0:
        raise ValueError(f"the tie tolerance must be >= 0, not {tie_tol}")
    board = leaderboard_rows(rows, z_pool=z_pool)
    raw = [{c: r.get(c) for c in RAW_COLUMNS} for r in board]
    z = [{c: r.get(c) for c in Z_COLUMNS} for r in board]
    return Report(
        raw=raw,
        z=z,
        win_tie_lose=win_tie_lose(z, tie_tol=tie_tol),
        cross=cross_language_rows(board),
        published=[dict(r) for r in published],
        tie_tol=tie_tol,
        z_pool=z_pool,
    )


# -- tables ---------------------------------------------------------------------------------


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _csv(path: Path, rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(columns)
        for r in rows:
            writer.writerow(["" if r.get(c) is None else r.get(c) for c in columns])


_TEXT_COLUMNS = ("method", "model", "type", "metric", "scores")


def _md_table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str], digits: int) -> list[str]:
    lines = ["| " + " | ".join(HEADINGS[c] for c in columns) + " |"]
    lines.append("|" + "|".join("---" if c in _TEXT_COLUMNS else "---:" for c in columns) + "|")
    for r in rows:
        cells = [_fmt(r.get(c), digits).replace("|", "\\|") for c in columns]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


_TEX_ESCAPES = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}  # fmt: skip


def latex_escape(text: str) -> str:
    return "".join(_TEX_ESCAPES.get(ch, ch) for ch in text)


def _tex_table(
    rows: Sequence[Mapping[str, Any]], columns: Sequence[str], digits: int, caption: str
) -> list[str]:
    align = "".join("l" if c in _TEXT_COLUMNS else "r" for c in columns)
    out = [
        r"\begin{table}[t]",
        r"\centering",
        rf"\caption{{{latex_escape(caption)}}}",
        rf"\begin{{tabular}}{{{align}}}",
        r"\toprule",
        " & ".join(latex_escape(HEADINGS[c]) for c in columns) + r" \\",
        r"\midrule",
    ]
    for r in rows:
        out.append(" & ".join(latex_escape(_fmt(r.get(c), digits)) for c in columns) + r" \\")
    out += [r"\bottomrule", r"\end{tabular}", r"\end{table}", ""]
    return out


_MD_MARKS = {1: ("**", "**"), 2: ("<u>", "</u>"), 3: ("*", "*")}
_TEX_MARKS = {1: r"\textbf", 2: r"\underline", 3: r"\textit"}


def _cross_cells(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        **{c: row.get(c) for c in ("rank", "method", "model", *SCORE_COLUMNS)},
        "languages": ",".join(row["languages"]),
        "missing": describe_missing(row),
        **{f"place_{c}": row["places"].get(c) for c in SCORE_COLUMNS},
    }


def write_cross_language(report: Report, out: Path) -> list[Path]:
    """``leaderboard.csv`` / ``.md`` / ``.tex``: the cross-language leaderboard, best / second /
    third of each column bold / underlined / italic (Markdown and LaTeX) or numbered (CSV)."""
    rows = [_cross_cells(r) for r in report.cross]
    _csv(out / "leaderboard.csv", rows, CROSS_COLUMNS)
    langs = sorted(
        {lang for r in report.cross for lang in r["languages"]}, key=lambda x: LANGUAGE_ORDER.get(x, 9)
    )
    what = (
        f"Leaderboard across {', '.join(LANGUAGE_TITLES.get(x, x) for x in langs)}: Substance = mean z1–z3, "
        "Style = mean z4–z6 over the languages, Overall = their mean; best, second and third marked; "
        "configurations without every language are unranked"
    )
    shown = ("rank", "method", "model", *SCORE_COLUMNS, "missing")
    md = [f"## {what}", "", "| " + " | ".join(HEADINGS[c] for c in shown) + " |"]
    md.append("|" + "|".join("---" if c in ("method", "model", "missing") else "---:" for c in shown) + "|")
    tex = [
        r"\begin{table}[t]", r"\centering", rf"\caption{{{latex_escape(what)}}}",
        r"\begin{tabular}{rllrrrl}", r"\toprule",
        " & ".join(latex_escape(HEADINGS[c]) for c in shown) + r" \\", r"\midrule",
    ]  # fmt: skip
    for raw, row in zip(report.cross, rows, strict=True):
        md_cells, tex_cells = [], []
        for c in shown:
            text = _fmt(row[c], 2)
            place = raw["places"].get(c)
            if place in _MD_MARKS:
                md_cells.append(_MD_MARKS[place][0] + text + _MD_MARKS[place][1])
                tex_cells.append(f"{_TEX_MARKS[place]}{{{latex_escape(text)}}}")
            else:
                md_cells.append(text.replace("|", "\\|"))
                tex_cells.append(latex_escape(text))
        md.append("| " + " | ".join(md_cells) + " |")
        tex.append(" & ".join(tex_cells) + r" \\")
    tex += [r"\bottomrule", r"\end{tabular}", r"\end{table}", ""]
    (out / "leaderboard.md").write_text("\n".join([*md, ""]), encoding="utf-8")
    (out / "leaderboard.tex").write_text("\n".join(tex), encoding="utf-8")
    return [out / f"leaderboard.{ext}" for ext in ("csv", "md", "tex")]


def _by_language(
    report: Report, rows: Sequence[Mapping[str, Any]]
) -> list[tuple[str, list[Mapping[str, Any]]]]:
    return [(lang, [r for r in rows if r["language"] == lang]) for lang in report.languages]


def write_tables(report: Report, out: Path) -> list[Path]:
    """CSV (all languages, a language column), Markdown and LaTeX (one table per language)."""
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    specs = [
        ("raw", report.raw, RAW_COLUMNS, 4, "raw scores, macro mean over users"),
        (
            "zscores",
            report.z,
            Z_COLUMNS,
            3,
            "z-scores (higher is better); Substance = z1+z2+z3, Style = z4+z5+z6",
        ),
    ]
    for name, rows, columns, digits, what in specs:
        _csv(out / f"{name}.csv", rows, columns)
        written.append(out / f"{name}.csv")
        md: list[str] = []
        tex: list[str] = []
        for lang, mine in _by_language(report, rows):
            _csv(out / f"{name}_{lang}.csv", mine, columns)
            written.append(out / f"{name}_{lang}.csv")
            title = f"{LANGUAGE_TITLES.get(lang, lang)}: {what}"
            md += [f"## {title}", "", *_md_table(mine, columns[1:], digits), ""]
            tex += _tex_table(mine, columns[1:], digits, title)
        (out / f"{name}.md").write_text("\n".join(md), encoding="utf-8")
        (out / f"{name}.tex").write_text("\n".join(tex), encoding="utf-8")
        written += [out / f"{name}.{ext}" for ext in ("md", "tex")]
    what = (
        "pairwise win / tie / lose against the other methods of each model and language, per metric"
        f" (tie: mean z within {report.tie_tol:g})"
    )
    _csv(out / "win_tie_lose.csv", report.win_tie_lose, WTL_COLUMNS)
    (out / "win_tie_lose.md").write_text(
        "\n".join([f"## {what}", "", *_md_table(report.win_tie_lose, WTL_COLUMNS, 0), ""]), encoding="utf-8"
    )
    (out / "win_tie_lose.tex").write_text(
        "\n".join(_tex_table(report.win_tie_lose, WTL_COLUMNS, 0, what)), encoding="utf-8"
    )
    written += [out / f"win_tie_lose.{ext}" for ext in ("csv", "md", "tex")]
    return written + write_cross_language(report, out) + write_published(report, out)


def write_published(report: Report, out: Path) -> list[Path]:
    """``published.csv`` / ``.md`` / ``.tex`` when the run has published scores: per language, our
    recomputed raw means and the published ones of the same turns (``scores`` = ours / published)."""
    if not report.published:
        return []
    _csv(out / "published.csv", report.published, COMPARISON_COLUMNS)
    what = (
        "published per-turn scores beside ours, raw macro means over users of the same turns "
        "(published = as published with the predictions; ours = recomputed here)"
    )
    md: list[str] = []
    tex: list[str] = []
    for lang, mine in _by_language(report, report.published):
        title = f"{LANGUAGE_TITLES.get(lang, lang)}: {what}"
        md += [f"## {title}", "", *_md_table(mine, COMPARISON_COLUMNS[1:], 4), ""]
        tex += _tex_table(mine, COMPARISON_COLUMNS[1:], 4, title)
    (out / "published.md").write_text("\n".join(md), encoding="utf-8")
    (out / "published.tex").write_text("\n".join(tex), encoding="utf-8")
    return [out / f"published.{ext}" for ext in ("csv", "md", "tex")]


# -- figures --------------------------------------------------------------------------------


def _label(row: Mapping[str, Any], models: set[str]) -> str:
    return row["method"] if len(models) <= 1 else f"{row['method']} · {row['model']}"


def _save(fig: Any, out: Path, stem: str) -> list[Path]:
    paths = [out / f"{stem}.png", out / f"{stem}.svg"]
    for p in paths:
        fig.savefig(p, dpi=150, bbox_inches="tight")
    return paths


def write_figures(report: Report, out: Path) -> list[Path]:
    """Per language a heatmap (methods × z1…z6) and a Substance-vs-Style scatter coloured by type;
    one win/tie/lose bar chart per metric over all configurations."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt
    import numpy as np

    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for lang, rows in _by_language(report, report.z):
        models = {r["model"] for r in rows}
        labels = [_label(r, models) for r in rows]
        grid = np.array([[np.nan if r[z] is None else r[z] for z in Z_METRICS] for r in rows], dtype=float)
        title = LANGUAGE_TITLES.get(lang, lang)

        fig, ax = plt.subplots(figsize=(7, 0.5 * len(rows) + 1.8))
        lim = float(np.nanmax(np.abs(grid))) if np.isfinite(grid).any() else 1.0
        im = ax.imshow(grid, cmap="RdYlGn", vmin=-lim or -1.0, vmax=lim or 1.0, aspect="auto")
        ax.set_xticks(range(len(Z_METRICS)), [z.upper() for z in Z_METRICS])
        ax.set_yticks(range(len(rows)), labels)
        for i in range(grid.shape[0]):
            for j in range(grid.shape[1]):
                if np.isfinite(grid[i, j]):
                    ax.text(j, i, f"{grid[i, j]:.2f}", ha="center", va="center", fontsize=8)
        fig.colorbar(im, ax=ax, label="mean z (higher is better)")
        ax.set_title(f"{title}: mean z-score per method and metric")
        written += _save(fig, out, f"heatmap_{lang}")
        plt.close(fig)

        fig, ax = plt.subplots(figsize=(6.5, 5))
        for type_name in (*TYPE_NAMES, None):
            pts = [
                (r, lab)
                for r, lab in zip(rows, labels, strict=True)
                if r["type"] == type_name and r["substance"] is not None and r["style"] is not None
            ]
            if not pts:
                continue
            ax.scatter(
                [r["substance"] for r, _ in pts],
                [r["style"] for r, _ in pts],
                color=_TYPE_COLOURS[type_name],
                label=type_name or "no type",
                s=40,
            )
            for r, lab in pts:
                ax.annotate(
                    lab, (r["substance"], r["style"]), fontsize=7, xytext=(3, 3), textcoords="offset points"
                )
        ax.axhline(0, color="#bbbbbb", lw=0.8)
        ax.axvline(0, color="#bbbbbb", lw=0.8)
        ax.set_xlabel("Substance (z1 + z2 + z3)")
        ax.set_ylabel("Style (z4 + z5 + z6)")
        ax.set_title(f"{title}: Substance vs Style, K-means types")
        ax.legend(loc="best", fontsize=8)
        written += _save(fig, out, f"scatter_{lang}")
        plt.close(fig)

    wtl = report.win_tie_lose
    methods = sorted({r["method"] for r in wtl})
    if methods:
        fig, axes = plt.subplots(
            1, len(METRICS), figsize=(3 * len(METRICS), 0.4 * len(methods) + 1.8), sharey=True
        )
        for ax, m in zip(np.atleast_1d(axes), METRICS, strict=True):
            mine = {r["method"]: r for r in wtl if r["metric"] == m}
            left = np.zeros(len(methods))
            for outcome, colour in (("win", "#2ca02c"), ("tie", "#bbbbbb"), ("lose", "#d62728")):
                vals = np.array([mine[meth][outcome] for meth in methods], dtype=float)
                ax.barh(methods, vals, left=left, color=colour, label=outcome)
                left += vals
            ax.set_title(m.upper())
        np.atleast_1d(axes)[0].legend(loc="lower right", fontsize=7)
        fig.suptitle(
            "Pairwise win / tie / lose per metric across models and languages"
            f" (tie: mean z within {report.tie_tol:g})"
        )
        written += _save(fig, out, "win_tie_lose")
        plt.close(fig)
    return written


def write_report(report: Report, out: Path, *, settings: Mapping[str, Any] | None = None) -> list[Path]:
    """Tables, figures and (when given) ``settings.json`` into ``out``; returns the files written."""
    written = write_tables(report, out) + write_figures(report, out)
    if settings is not None:
        path = out / "settings.json"
        path.write_text(
            json.dumps(settings, ensure_ascii=False, indent=2, sort_keys=True, default=str), encoding="utf-8"
        )
        written.append(path)
    return written


def report_settings(
    run: Mapping[str, Any], report: Report, *, session_sources: Sequence[str] = ()
) -> dict[str, Any]:
    """What ``settings.json`` records beside a report.

    From the run's stored config: how the data was selected (``source``, the ``languages``
    filter, the ``users`` filter, ``limit_users``, ``limit_turns``; ``null`` = no filter, and all
    five ``null`` with ``selection_recorded: false`` for runs made before the runner recorded
    them), the users evaluated, methods, models, seed, the ``protocol`` (:mod:`evaluator.protocols`;
    ``null`` for a run of imported predictions only), ``method_names`` (stored name → name shown,
    for runs made before the methods were renamed), generation parameters and metric options;
    ``published_scores`` (whether the published scores of imported predictions are reported);
    from the report: the languages present, the win/tie/lose ``tie_tolerance`` and ``z_pool`` (the
    users each metric's z-scores are standardised over);
    ``session_sources``: the ``source`` of every evaluated session as stored. ``config`` is the
    whole stored config.
    """
    config = dict(run.get("config") or {})
    selection = dict(config.get("selection") or {})
    namer = namer_for(config)
    models = config.get("models", [])
    shown = {m: namer(m, x) for m in config.get("methods", []) for x in models if namer(m, x) != m}
    return {
        "run": run.get("id"),
        "status": run.get("status"),
        "created_at": run.get("created_at"),
        "updated_at": run.get("updated_at"),
        "selection_recorded": bool(selection),
        "source": selection.get("source"),
        "languages": selection.get("languages"),
        "users": selection.get("users"),
        "limit_users": selection.get("limit_users"),
        "limit_turns": selection.get("limit_turns"),
        "session_sources": sorted(set(session_sources)),
        "evaluated_users": config.get("users", []),
        "report_languages": report.languages,
        "methods": config.get("methods", []),
        "method_names": shown,
        "models": models,
        "protocol": run_protocol(config),
        "published_scores": bool(report.published),
        "seed": config.get("seed"),
        "params": config.get("params", {}),
        "metric_options": config.get("metric_options", {}),
        "tie_tolerance": report.tie_tol,
        "z_pool": report.z_pool,
        "config": config,
    }
