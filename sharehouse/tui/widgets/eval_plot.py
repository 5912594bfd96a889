"""Terminal plots of a run's leaderboard.

:class:`EvalPlot` (plotext) draws one language as a Substance-vs-Style scatter coloured by K-means
type, or as a methods × z1…z6 heatmap. :class:`WinTieLoseBars` draws the pairwise win / tie / lose
counts of :func:`evaluator.report.win_tie_lose` per metric across every configuration (model ×
language), one stacked bar per method and metric.

The heatmap draws each cell as a filled rectangle centred on (column, row) with row 0 at the top,
so the tick labels sit exactly under / beside their cells; a missing z is a hatched grey cell
marked "n/a", never a colour of the scale.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.widgets import Static
from textual_plotext import PlotextPlot

from evaluator.metrics.aggregate import METRICS, TYPE_NAMES, Z_METRICS

PLOT_KINDS: tuple[str, ...] = ("scatter", "heatmap", "wtl")
_TYPE_COLOURS = {TYPE_NAMES[0]: "red", TYPE_NAMES[1]: "orange", TYPE_NAMES[2]: "green", None: "gray"}
RGB = tuple[int, int, int]
_WORST: RGB = (215, 48, 39)
_MIDDLE: RGB = (254, 224, 139)
_BEST: RGB = (26, 152, 80)
MISSING_RGB: RGB = (70, 70, 70)
MISSING_LABEL = "n/a"


def _mix(a: RGB, b: RGB, t: float) -> RGB:
    return (round(a[0] + (b[0] - a[0]) * t), round(a[1] + (b[1] - a[1]) * t), round(a[2] + (b[2] - a[2]) * t))


def heat_colour(value: float | None, lim: float) -> RGB:
    """Red (−lim, worst) through yellow (0) to green (+lim, best); grey for a missing value."""
    if value is None:
        return MISSING_RGB
    t = max(-1.0, min(1.0, value / (lim or 1.0)))
    return _mix(_MIDDLE, _BEST, t) if t >= 0 else _mix(_MIDDLE, _WORST, -t)


def heat_cells(rows: Sequence[Mapping[str, Any]]) -> list[list[tuple[float | None, RGB]]]:
    """Per row and z1…z6: the mean z and its colour (the scale spans ±max |z| of the table)."""
    values = [r[z] for r in rows for z in Z_METRICS if r.get(z) is not None]
    lim = max((abs(v) for v in values), default=0.0) or 1.0
    return [[(r.get(z), heat_colour(r.get(z), lim)) for z in Z_METRICS] for r in rows]


def row_labels(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """Method names, with the model when the rows hold more than one model."""
    models = {r.get("model") for r in rows}
    return [r["method"] if len(models) <= 1 else f"{r['method']} · {r['model']}" for r in rows]


class EvalPlot(PlotextPlot):
    """Draws ``rows`` (leaderboard rows of one language) as the chosen kind (scatter or heatmap)."""

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002 - textual's name
        super().__init__(id=id)
        self.rows: list[Mapping[str, Any]] = []
        self.kind = PLOT_KINDS[0]
        self.title_text = ""

    def show_rows(self, rows: Sequence[Mapping[str, Any]], kind: str, title: str) -> None:
        self.rows, self.kind, self.title_text = list(rows), kind, title
        self.draw()

    def draw(self) -> None:
        plt = self.plt
        plt.clear_figure()
        plt.theme("pro")
        if self.kind == "heatmap":
            self._heatmap()
        else:
            self._scatter()
        self.refresh()

    def _heatmap(self) -> None:
        plt, rows = self.plt, self.rows
        plt.title(
            f"{self.title_text}: mean z per method and metric (green = better, ░ {MISSING_LABEL} = missing)"
        )
        if not rows:
            return
        n = len(rows)
        for i, cells in enumerate(heat_cells(rows)):
            y = n - 1 - i  # plotext's y grows upwards: the first row is drawn at the top
            for c, (value, rgb) in enumerate(cells):
                missing = value is None
                plt.rectangle(
                    [c - 0.5, c + 0.5],
                    [y - 0.5, y + 0.5],
                    color=rgb,
                    fill=True,
                    marker="░" if missing else "█",
                )
                plt.text(
                    MISSING_LABEL if missing else f"{value:+.2f}",
                    c,
                    y,
                    alignment="center",
                    color="white" if missing else "black",
                    background=rgb,
                )
        plt.xlim(-0.5, len(Z_METRICS) - 0.5)
        plt.ylim(-0.5, n - 0.5)
        plt.xticks(list(range(len(Z_METRICS))), [z.upper() for z in Z_METRICS])
        plt.yticks([n - 1 - i for i in range(n)], row_labels(rows))

    def _scatter(self) -> None:
        plt, rows = self.plt, self.rows
        labels = dict(zip((id(r) for r in rows), row_labels(rows), strict=True))
        placed = [r for r in rows if r.get("substance") is not None and r.get("style") is not None]
        dx = dy = 1.0
        if placed:  # room for the labels, which run to the right of their point
            xs, ys = [r["substance"] for r in placed], [r["style"] for r in placed]
            dx, dy = (max(xs) - min(xs)) or 1.0, (max(ys) - min(ys)) or 1.0
            plt.xlim(min(xs) - 0.05 * dx, max(xs) + 0.3 * dx)
            plt.ylim(min(ys) - 0.1 * dy, max(ys) + 0.1 * dy)
        for type_name in (*TYPE_NAMES, None):
            pts = [r for r in placed if r.get("type") == type_name]
            if pts:
                plt.scatter(
                    [r["substance"] for r in pts],
                    [r["style"] for r in pts],
                    color=_TYPE_COLOURS[type_name],
                    label=type_name or "no type",
                    marker="●",
                )
                for r in pts:
                    plt.text(
                        labels[id(r)],
                        r["substance"] + 0.02 * dx,
                        r["style"],
                        color=_TYPE_COLOURS[type_name],
                        alignment="left",
                    )
        plt.xlabel("Substance")
        plt.ylabel("Style")
        plt.title(f"{self.title_text}: Substance vs Style")


_OUTCOMES: tuple[tuple[str, str, str], ...] = (
    ("win", "█", "green"),
    ("tie", "█", "grey50"),
    ("lose", "█", "red"),
)


def wtl_bar(counts: Mapping[str, int], width: int, scale: int) -> Text:
    """One stacked bar: wins, ties, losses in proportion to ``scale`` comparisons over ``width`` cells."""
    bar = Text()
    total = sum(counts.get(o, 0) for o, _, _ in _OUTCOMES)
    cells = round(width * total / scale) if scale else 0
    used = 0
    acc = 0
    for outcome, char, colour in _OUTCOMES:
        acc += counts.get(outcome, 0)
        end = round(cells * acc / total) if total else 0
        bar.append(char * (end - used), style=colour)
        used = end
    bar.append(" " * (width - used))
    return bar


class WinTieLoseBars(Static):
    """Win / tie / lose per method (rows) and metric (columns), counted over every configuration."""

    BAR_WIDTH = 8

    def show(self, wtl: Sequence[Mapping[str, Any]], *, tie_tol: float, configs: int) -> None:
        methods = list(dict.fromkeys(r["method"] for r in wtl))
        by = {(r["method"], r["metric"]): r for r in wtl}
        scale = max((r["win"] + r["tie"] + r["lose"] for r in wtl), default=0)
        title = Text.assemble(
            ("Pairwise win / tie / lose per metric", "bold"),
            f" against the other methods of the same model × language, over {configs} configuration"
            f"{'s' if configs != 1 else ''} (tie: |Δ mean z| ≤ {tie_tol:g}) · ",
            ("█ win", "green"),
            " ",
            ("█ tie", "grey50"),
            " ",
            ("█ lose", "red"),
        )
        if not methods:
            self.update(Group(title, Text("no scored predictions yet")))
            return
        table = Table(expand=False, box=None, padding=(0, 1), show_edge=False)
        table.add_column("method", no_wrap=True)
        for m in METRICS:
            table.add_column(m.upper(), no_wrap=True)
        for method in methods:
            cells = []
            for m in METRICS:
                r = by.get((method, m), {"win": 0, "tie": 0, "lose": 0})
                cell = wtl_bar(r, self.BAR_WIDTH, scale)
                cell.append(f" {r['win']}/{r['tie']}/{r['lose']}")
                cells.append(cell)
            table.add_row(method, *cells)
        self.update(Group(title, table))
