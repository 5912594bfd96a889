"""A terminal plot of one language's leaderboard: Substance-vs-Style scatter or a z-score heatmap."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from textual_plotext import PlotextPlot

from evaluator.metrics.aggregate import TYPE_NAMES, Z_METRICS

PLOT_KINDS: tuple[str, str] = ("scatter", "heatmap")
_TYPE_COLOURS = {TYPE_NAMES[0]: "red", TYPE_NAMES[1]: "orange", TYPE_NAMES[2]: "green", None: "gray"}


def heat_levels(rows: Sequence[Mapping[str, Any]]) -> list[list[int]]:
    """Mean z of each row × z1…z6 mapped to 0…255 (the row's worst to best over the table; missing = 0)."""
    values = [r[z] for r in rows for z in Z_METRICS if r.get(z) is not None]
    lim = max((abs(v) for v in values), default=0.0) or 1.0
    return [[0 if r.get(z) is None else round(127.5 + 127.5 * r[z] / lim) for z in Z_METRICS] for r in rows]


class EvalPlot(PlotextPlot):
    """Draws ``rows`` (leaderboard rows of one language) as the chosen kind."""

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
        rows = self.rows
        if self.kind == "heatmap":
            if rows:
                plt.matrix_plot(heat_levels(rows))
                plt.xticks(list(range(1, len(Z_METRICS) + 1)), [z.upper() for z in Z_METRICS])
                plt.yticks(list(range(1, len(rows) + 1)), [r["method"] for r in rows])
            plt.title(f"{self.title_text}: mean z (bright = better)")
        else:
            for type_name in (*TYPE_NAMES, None):
                pts = [
                    r
                    for r in rows
                    if r.get("type") == type_name
                    and r.get("substance") is not None
                    and r.get("style") is not None
                ]
                if pts:
                    plt.scatter(
                        [r["substance"] for r in pts],
                        [r["style"] for r in pts],
                        color=_TYPE_COLOURS[type_name],
                        label=type_name or "no type",
                        marker="●",
                    )
                    for r in pts:
                        plt.text(r["method"], r["substance"], r["style"], color=_TYPE_COLOURS[type_name])
            plt.xlabel("Substance")
            plt.ylabel("Style")
            plt.title(f"{self.title_text}: Substance vs Style")
        self.refresh()
