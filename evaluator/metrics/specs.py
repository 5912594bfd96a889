"""The YNTP metrics M1–M6, one :class:`MetricSpec` each: every fact about a metric that the tables,
reports and importer need, defined here once.

A spec names the metric's score column (``m1``; its z-score column is ``z1``), the heads and labels
it is shown under, its direction (only M1, a distance, is lower-is-better; its z-score is
sign-flipped so that a higher z is better for every metric), its group (M1–M3 are Substance,
M4–M6 Style, see :mod:`evaluator.metrics.aggregate`), its key in the published YNTP-100 per-turn
``scores`` objects (:mod:`evaluator.import_predictions`), and the fields of
:class:`evaluator.scoring.MetricOptions` that choose its variant. :data:`METRIC_SPECS` is in
column order; :mod:`evaluator.metrics.aggregate` (``METRICS``, ``Z_METRICS``,
``LOWER_IS_BETTER``), :mod:`evaluator.crosslang`, :mod:`evaluator.leaderboard`,
:mod:`evaluator.report`, :mod:`evaluator.cli_score`, :mod:`evaluator.import_predictions` and the
TUI's drill-down derive their metric lists, heads and mappings from it.

The computation itself lives in the ``m*_`` modules and :mod:`evaluator.scoring` (which computes
the columns of :class:`evaluator.scoring.TurnScores`); a new metric is one more spec here beside its
scorer, and every table, report and mapping above follows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

MetricGroup = Literal["substance", "style"]
#: The groups in the order Overall averages them: Substance (content), then Style.
GROUPS: tuple[MetricGroup, ...] = ("substance", "style")


@dataclass(frozen=True)
class MetricSpec:
    """One metric: its column, names, group, published name, options and direction.

    The heads and the label are built from the metric's code (``M1``, from the key), one of its
    names and its direction (``↓`` / ``lower better`` exactly when lower is better)."""

    key: str
    """Column of the per-turn scores and of the user and language means (``m1``)."""
    name: str
    """Name in the compact table head (:attr:`head`)."""
    summary_name: str
    """Name in the head of the ``sharehouse score`` summary (:attr:`summary_head`)."""
    detail_name: str
    """Name beside each prediction's score in the TUI's drill-down (:attr:`detail_head`)."""
    long_name: str
    """Name in the report's long label (:attr:`label`)."""
    group: MetricGroup
    """Which of Substance (M1–M3) and Style (M4–M6) its z-score counts towards."""
    published_name: str
    """Key of the metric in a published YNTP-100 per-turn ``scores`` object."""
    options: tuple[str, ...] = ()
    """Fields of :class:`evaluator.scoring.MetricOptions` that choose this metric's variant (the
    run config records them under ``metric_options``)."""
    lower_is_better: bool = False
    """A lower score is better (a distance): its z-score is sign-flipped."""

    @property
    def code(self) -> str:
        """``M1``."""
        return self.key.upper()

    @property
    def z_key(self) -> str:
        """Column of the metric's z-score (``z1``)."""
        return "z" + self.key[1:]

    def _shown(self, name: str, arrow: str) -> str:  # "M1 WMD" and the arrow when lower is better
        return f"{self.code} {name}{arrow if self.lower_is_better else ''}"

    @property
    def head(self) -> str:
        """Compact table head: the leaderboards and the published comparison (``M1 WMD↓``)."""
        return self._shown(self.name, "↓")

    @property
    def summary_head(self) -> str:
        """Head in the per-language summary of ``sharehouse score`` (``M2 SentSim``)."""
        return self._shown(self.summary_name, "↓")

    @property
    def detail_head(self) -> str:
        """Name beside a prediction's score in the TUI's drill-down (``M1 WMD ↓``)."""
        return self._shown(self.detail_name, " ↓")

    @property
    def label(self) -> str:
        """Long label: the report's Markdown and LaTeX headings (``M1 (WMD, lower better)``)."""
        direction = ", lower better" if self.lower_is_better else ""
        return f"{self.code} ({self.long_name}{direction})"


#: M1–M6 in column order.
METRIC_SPECS: tuple[MetricSpec, ...] = (
    MetricSpec(key="m1", name="WMD", summary_name="WMD", detail_name="WMD", long_name="WMD",
               group="substance", published_name="wmd", lower_is_better=True),
    MetricSpec(key="m2", name="Sent", summary_name="SentSim", detail_name="sentence", long_name="sentence sim.",
               group="substance", published_name="sentence_similarity", options=("sentence_encoder",)),
    MetricSpec(key="m3", name="BLEU", summary_name="BLEU", detail_name="BLEU", long_name="BLEU",
               group="substance", published_name="bleu", options=("tokens",)),
    MetricSpec(key="m4", name="Len", summary_name="Length", detail_name="length", long_name="length",
               group="style", published_name="normalized_length_similarity", options=("length_unit",)),
    MetricSpec(key="m5", name="TTR", summary_name="TTR", detail_name="TTR", long_name="TTR",
               group="style", published_name="ttr", options=("tokens",)),
    MetricSpec(key="m6", name="Hist", summary_name="HistSim", detail_name="history", long_name="history sim.",
               group="style", published_name="history_similarity", options=("history_encoder",)),
)  # fmt: skip

_BY_KEY: dict[str, MetricSpec] = {s.key: s for s in METRIC_SPECS}


def spec(key: str) -> MetricSpec:
    """The spec of metric ``key`` (``m1`` … ``m6``); :class:`KeyError` naming the known keys otherwise."""
    try:
        return _BY_KEY[key]
    except KeyError:
        raise KeyError(f"unknown metric {key!r} (known: {', '.join(_BY_KEY)})") from None


def metric_keys(group: MetricGroup | None = None) -> tuple[str, ...]:
    """The score columns in order, of every metric or of one group's."""
    return tuple(s.key for s in METRIC_SPECS if group is None or s.group == group)


def z_keys(group: MetricGroup | None = None) -> tuple[str, ...]:
    """The z-score columns in order, of every metric or of one group's."""
    return tuple(s.z_key for s in METRIC_SPECS if group is None or s.group == group)


def published_columns() -> dict[str, str]:
    """Key in a published per-turn ``scores`` object → our score column, in metric order."""
    return {s.published_name: s.key for s in METRIC_SPECS}
