"""The realism report as a rich table."""

from __future__ import annotations

from rich.table import Table

from sharehouse.realism.diversity import Diversity
from sharehouse.realism.report import RealismReport


def _diversity_text(d: Diversity | None) -> str:
    if d is None:
        return "n/a"
    return f"{d.accuracy:.2f} (chance {d.chance:.2f}, x{d.lift:.1f}, {d.people} people)"


def render_table(report: RealismReport) -> Table:
    """One section per language: feature means, Wasserstein (raw and / real σ) and KS; then diversity."""
    table = Table(title="Realism: real people vs simulated users")
    for col, justify in (
        ("lang", "left"),
        ("feature", "left"),
        ("real mean", "right"),
        ("sim mean", "right"),
        ("W", "right"),
        ("W/σ", "right"),
        ("KS", "right"),
    ):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    for i, lang in enumerate(report.languages):
        if i:
            table.add_section()
        for f in lang.features:
            table.add_row(
                lang.language,
                f.feature,
                f"{f.real_mean:.3f}",
                f"{f.sim_mean:.3f}",
                f"{f.wasserstein:.3f}",
                "n/a" if f.wasserstein_norm is None else f"{f.wasserstein_norm:.2f}",
                f"{f.ks:.2f}",
            )
        table.add_row(lang.language, "diversity real", _diversity_text(lang.diversity_real), "", "", "", "")
        table.add_row(lang.language, "diversity sim", "", _diversity_text(lang.diversity_sim), "", "", "")
    if report.only_real or report.only_sim:
        table.caption = f"only real: {', '.join(report.only_real) or '-'}; only simulated: {', '.join(report.only_sim) or '-'}"
    return table
