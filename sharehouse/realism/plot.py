"""Histograms of real vs simulated reply features, one row per language, saved as PNG."""

from __future__ import annotations

from pathlib import Path

from sharehouse.realism.features import FEATURE_HELP
from sharehouse.realism.report import RealismReport


def save_plot(report: RealismReport, path: str | Path) -> Path:
    """Draw real vs simulated histograms for every language and feature; returns the written path."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if not report.languages:
        raise ValueError("the report has no language with both real and simulated replies to plot")
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    cols = max(len(lang.features) for lang in report.languages)
    rows = len(report.languages)
    fig = Figure(figsize=(3.0 * cols, 2.6 * rows), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(rows, cols, squeeze=False)
    for r, lang in enumerate(report.languages):
        for c in range(cols):
            ax = axes[r][c]
            if c >= len(lang.features):
                ax.set_axis_off()
                continue
            f = lang.features[c]
            real_total, sim_total = max(sum(f.hist.real), 1), max(sum(f.hist.sim), 1)
            edges = f.hist.edges
            ax.stairs([v / real_total for v in f.hist.real], edges, label="real", fill=True, alpha=0.45)
            ax.stairs([v / sim_total for v in f.hist.sim], edges, label="simulated", linewidth=1.5)
            ax.set_title(f"{lang.language} · {f.feature}  (KS {f.ks:.2f})", fontsize=9)
            ax.set_xlabel(FEATURE_HELP.get(f.feature, f.feature), fontsize=7)
            ax.tick_params(labelsize=7)
            if c == 0:
                ax.set_ylabel("share of replies", fontsize=8)
                ax.legend(fontsize=7)
    fig.savefig(out, dpi=100)
    return out
