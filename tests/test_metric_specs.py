"""The metric registry (`evaluator.metrics.specs`): consistent in itself, and the one source of the
metric lists, heads, labels, groups and published names that the tables, reports and importer use."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from rich.table import Table

from evaluator import crosslang, import_predictions, leaderboard, report
from evaluator.cli_score import summary_table
from evaluator.metrics import aggregate
from evaluator.metrics.specs import GROUPS, METRIC_SPECS, metric_keys, published_columns, spec, z_keys
from evaluator.scoring import MetricOptions, TurnScores

ROOT = Path(__file__).resolve().parent.parent
KEYS = ("m1", "m2", "m3", "m4", "m5", "m6")


def _turns() -> list[dict[str, object]]:
    return [
        {"method": method, "model": "x", "language": "en", "user": user, "session_id": f"s-{user}",
         "day": 5, "idx": 0, "m1": 0.1 * i, "m2": 0.5, "m3": 0.2 + 0.1 * i, "m4": 0.4, "m5": 0.6, "m6": 0.3}
        for i, (method, user) in enumerate([("A", "u1"), ("A", "u2"), ("B", "u1"), ("B", "u2")])
    ]  # fmt: skip


def _heads(table: Table) -> list[str]:
    return [str(c.header) for c in table.columns]


def test_six_metrics_in_order() -> None:
    assert tuple(s.key for s in METRIC_SPECS) == KEYS == metric_keys() == aggregate.METRICS
    assert tuple(s.z_key for s in METRIC_SPECS) == z_keys() == aggregate.Z_METRICS
    assert z_keys() == ("z1", "z2", "z3", "z4", "z5", "z6")
    assert all(spec(k) is s for k, s in zip(KEYS, METRIC_SPECS, strict=True))
    for s in METRIC_SPECS:
        assert s.code == s.key.upper()
        for name in (s.head, s.summary_head, s.detail_head, s.label):
            assert name.startswith(s.code + " "), (s.key, name)


def test_heads_and_labels_as_shown() -> None:
    """The strings the tables, reports and snapshots show (changing one changes their output)."""
    assert [s.head for s in METRIC_SPECS] == ["M1 WMD↓", "M2 Sent", "M3 BLEU", "M4 Len", "M5 TTR", "M6 Hist"]
    assert [s.summary_head for s in METRIC_SPECS] == [
        "M1 WMD↓", "M2 SentSim", "M3 BLEU", "M4 Length", "M5 TTR", "M6 HistSim",
    ]  # fmt: skip
    assert [s.detail_head for s in METRIC_SPECS] == [
        "M1 WMD ↓", "M2 sentence", "M3 BLEU", "M4 length", "M5 TTR", "M6 history",
    ]  # fmt: skip
    assert [s.label for s in METRIC_SPECS] == [
        "M1 (WMD, lower better)", "M2 (sentence sim.)", "M3 (BLEU)", "M4 (length)", "M5 (TTR)",
        "M6 (history sim.)",
    ]  # fmt: skip


def test_unknown_metric_and_frozen() -> None:
    with pytest.raises(KeyError, match="m7"):
        spec("m7")
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec("m1").lower_is_better = False  # type: ignore[misc]


def test_only_m1_is_lower_is_better() -> None:
    assert [s.key for s in METRIC_SPECS if s.lower_is_better] == ["m1"]
    assert aggregate.LOWER_IS_BETTER == frozenset({"m1"})
    for s in METRIC_SPECS:  # the heads and labels say the direction exactly where the spec does
        assert ("↓" in s.head) == ("↓" in s.summary_head) == ("↓" in s.detail_head) == s.lower_is_better
        assert ("lower better" in s.label) == s.lower_is_better


def test_lower_is_better_flips_the_z_sign() -> None:
    users = [{"language": "en", "user": f"u{i}", **dict.fromkeys(KEYS, float(i))} for i in range(3)]
    top = aggregate.zscore_users(users)[-1]  # the highest raw score of every metric
    for s in METRIC_SPECS:
        assert (top[s.z_key] < 0) == s.lower_is_better


def test_groups_substance_and_style() -> None:
    assert GROUPS == ("substance", "style")
    assert metric_keys("substance") == ("m1", "m2", "m3")
    assert metric_keys("style") == ("m4", "m5", "m6")
    assert aggregate.SUBSTANCE_Z == crosslang.SUBSTANCE_Z == z_keys("substance") == ("z1", "z2", "z3")
    assert aggregate.STYLE_Z == crosslang.STYLE_Z == z_keys("style") == ("z4", "z5", "z6")
    rec = aggregate.method_scores([{"method": "A", "model": "x", "language": "en", **dict.fromkeys(z_keys(), 0.0),
                                    "z1": 1.0, "z5": 2.0}])[0]  # fmt: skip
    assert (rec["substance"], rec["style"], rec["overall"]) == (1.0, 2.0, 1.5)


def test_published_names_round_trip() -> None:
    mapping = import_predictions.PUBLISHED_SCORE_KEYS
    assert mapping == published_columns()
    assert list(mapping.values()) == list(KEYS)
    assert mapping == {
        "wmd": "m1", "sentence_similarity": "m2", "bleu": "m3", "normalized_length_similarity": "m4",
        "ttr": "m5", "history_similarity": "m6",
    }  # fmt: skip
    for s in METRIC_SPECS:
        assert mapping[s.published_name] == s.key
    raw = {s.published_name: float(i) for i, s in enumerate(METRIC_SPECS)}
    assert import_predictions._published_scores(raw) == {s.key: float(i) for i, s in enumerate(METRIC_SPECS)}


def test_options_are_metric_options_fields() -> None:
    fields = set(MetricOptions.model_fields)
    claimed = {o for s in METRIC_SPECS for o in s.options}
    assert claimed <= fields
    assert fields - claimed == {"judge_concurrency"}  # the judge is not one of M1–M6
    assert {s.key for s in METRIC_SPECS if "tokens" in s.options} == {"m3", "m5"}
    assert spec("m1").options == ()
    assert (spec("m2").options, spec("m4").options, spec("m6").options) == (
        ("sentence_encoder",), ("length_unit",), ("history_encoder",),
    )  # fmt: skip


def test_leaderboard_heads_come_from_the_spec() -> None:
    rows = leaderboard.leaderboard_rows(_turns())
    raw = leaderboard.leaderboard_tables(rows)[0]
    assert _heads(raw)[4:] == [s.head for s in METRIC_SPECS]
    pub = leaderboard.published_table([])
    assert _heads(pub)[6:] == [s.head for s in METRIC_SPECS]


def test_score_summary_heads_come_from_the_spec() -> None:
    scores = [TurnScores(user="u", language="en", **dict.fromkeys(KEYS, 0.5))]
    assert _heads(summary_table(scores, MetricOptions()))[3:] == [s.summary_head for s in METRIC_SPECS]


def test_report_labels_come_from_the_spec(tmp_path: Path) -> None:
    for s in METRIC_SPECS:
        assert report.HEADINGS[s.key] == s.label
        assert report.HEADINGS[s.z_key] == s.z_key
    report.write_tables(report.build_report(_turns()), tmp_path)
    header = (tmp_path / "raw.md").read_text(encoding="utf-8").splitlines()[2]
    assert header.endswith(" | ".join(s.label for s in METRIC_SPECS) + " |")


def test_heads_are_written_only_in_the_registry() -> None:
    """No other module spells a metric's head or label as a string of its own."""
    sources = [p for d in ("evaluator", "sharehouse") for p in (ROOT / d).rglob("*.py")]
    registry = ROOT / "evaluator" / "metrics" / "specs.py"
    for s in METRIC_SPECS:
        for name in {s.head, s.summary_head, s.detail_head, s.label}:
            quoted = f'"{name}"'
            found = [p.relative_to(ROOT) for p in sources if p != registry and quoted in p.read_text("utf-8")]
            assert not found, (name, found)
