"""The cross-language leaderboard: the paper's Table 3 recomputed from its Table 2, incomplete
configurations, and the report's leaderboard files with best / second / third marked."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest

from evaluator.crosslang import cross_language_rows, describe_missing
from evaluator.report import Report, write_cross_language

# Table 2 of the YNTP-100 paper (z-scores per language, pooled within each language): z1..z6 for
# English, Chinese and Japanese, in that order, of the configurations at the top of its Table 3.
TABLE2: dict[tuple[str, str], str] = {
    ("Fine-tuning", "gpt-4o-mini"): "0.031 -0.040 2.648 1.497 0.700 0.957 "
    "0.653 0.923 1.948 1.578 1.002 0.809 0.403 1.257 1.421 1.505 1.272 1.212",
    ("CoT", "gemini-2.5-flash"): "0.026 0.497 1.106 1.290 0.862 0.170 "
    "0.797 0.889 1.970 1.364 1.032 0.819 0.810 1.157 2.011 1.353 1.034 1.106",
    ("CoT", "claude-sonnet-4-0"): "0.207 0.782 1.069 1.157 0.720 0.608 "
    "0.945 0.822 1.320 1.192 0.898 0.822 0.830 1.198 1.747 1.199 1.016 1.153",
    ("Few-shot", "gemini-2.5-flash"): "0.007 0.390 1.557 1.446 0.910 0.174 "
    "0.732 0.793 1.487 1.261 0.946 0.810 0.757 1.198 1.486 1.382 1.045 1.071",
    ("Fine-tuning", "L3-ELYZA"): "0.033 -0.492 1.241 1.519 0.634 0.979 "
    "0.409 0.880 0.688 1.399 0.925 0.826 0.376 1.280 1.064 1.618 1.319 1.302",
    ("Few-shot", "claude-sonnet-4-0"): "0.275 0.705 0.730 0.421 0.471 0.551 "
    "1.010 0.797 1.298 0.723 0.750 0.786 0.852 1.093 1.670 1.013 0.860 0.992",
}
# Table 3 of the paper: rank, method, model, Sub, Sty, Ovr (two decimals)
TABLE3: list[tuple[int, str, str, float, float, float]] = [
    (1, "Fine-tuning", "gpt-4o-mini", 1.03, 1.17, 1.10),
    (2, "CoT", "gemini-2.5-flash", 1.03, 1.00, 1.02),
    (3, "CoT", "claude-sonnet-4-0", 0.99, 0.97, 0.98),
    (4, "Few-shot", "gemini-2.5-flash", 0.93, 1.00, 0.97),
    (5, "Fine-tuning", "L3-ELYZA", 0.61, 1.17, 0.89),
    (6, "Few-shot", "claude-sonnet-4-0", 0.94, 0.73, 0.83),
]


def table2_rows() -> list[dict[str, Any]]:
    rows = []
    for (method, model), text in TABLE2.items():
        values = [float(v) for v in text.split()]
        for i, lang in enumerate(("en", "zh", "ja")):
            row: dict[str, Any] = {"method": method, "model": model, "language": lang}
            row.update({f"z{k + 1}": values[6 * i + k] for k in range(6)})
            rows.append(row)
    return rows


def test_table3_top_rows_from_table2() -> None:
    cross = cross_language_rows(table2_rows())
    got = [(r["rank"], r["method"], r["model"], r["substance"], r["style"], r["overall"]) for r in cross]
    assert [g[:3] for g in got] == [t[:3] for t in TABLE3]
    for (_, _, _, sub, sty, ovr), (_, _, _, p_sub, p_sty, p_ovr) in zip(got, TABLE3, strict=True):
        assert round(sub, 2) == pytest.approx(p_sub)
        assert round(sty, 2) == pytest.approx(p_sty)
        assert round(ovr, 2) == pytest.approx(p_ovr)
    first = cross[0]
    assert first["languages"] == ["en", "ja", "zh"] and first["complete"] and first["missing"] == []
    # best / second / third per column: Substance 1.029 (CoT gemini) > 1.027 > 0.991
    places = {(r["method"], r["model"]): r["places"] for r in cross}
    assert places[("CoT", "gemini-2.5-flash")]["substance"] == 1
    assert places[("Fine-tuning", "gpt-4o-mini")]["substance"] == 2
    assert places[("CoT", "claude-sonnet-4-0")]["substance"] == 3
    assert places[("Fine-tuning", "gpt-4o-mini")]["overall"] == 1
    assert places[("Fine-tuning", "gpt-4o-mini")]["style"] == 1  # 1.1698 against ELYZA's 1.1691
    assert "overall" not in places[("Few-shot", "claude-sonnet-4-0")]


def test_a_configuration_without_a_language_is_listed_not_ranked() -> None:
    rows = table2_rows()
    rows = [r for r in rows if not (r["model"] == "L3-ELYZA" and r["language"] == "zh")]
    gap = next(
        r
        for r in rows
        if r["model"] == "claude-sonnet-4-0" and r["method"] == "CoT" and r["language"] == "ja"
    )
    gap["z6"] = None
    cross = cross_language_rows(rows)
    ranked = [r for r in cross if r["rank"] is not None]
    assert [r["rank"] for r in ranked] == [1, 2, 3, 4]
    tail = {(r["method"], r["model"]): r for r in cross[4:]}
    elyza = tail[("Fine-tuning", "L3-ELYZA")]
    assert elyza["languages"] == ["en", "ja"] and elyza["missing"] == ["zh"]
    assert elyza["substance"] is None and elyza["overall"] is None and elyza["places"] == {}
    assert describe_missing(elyza) == "no zh"
    assert describe_missing(tail[("CoT", "claude-sonnet-4-0")]) == "ja:z6 missing"
    # the languages required are those of the run, or the ones given
    only_en = cross_language_rows([r for r in rows if r["language"] == "en"])
    assert all(r["complete"] for r in only_en if r["model"] != "claude-sonnet-4-0")
    asked = cross_language_rows([r for r in rows if r["language"] == "en"], languages=["en", "zh"])
    assert all(r["rank"] is None for r in asked)


def test_report_writes_the_leaderboard_with_marks(tmp_path: Path) -> None:
    report = Report(cross=cross_language_rows(table2_rows()))
    files = write_cross_language(report, tmp_path)
    assert [f.name for f in files] == ["leaderboard.csv", "leaderboard.md", "leaderboard.tex"]
    with (tmp_path / "leaderboard.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert rows[0]["rank"] == "1" and rows[0]["method"] == "Fine-tuning" and rows[0]["place_overall"] == "1"
    assert float(rows[0]["overall"]) == pytest.approx(1.0986, abs=1e-3)
    assert rows[0]["languages"] == "en,ja,zh" and rows[1]["place_overall"] == "2"
    md = (tmp_path / "leaderboard.md").read_text(encoding="utf-8")
    assert "| 1 | Fine-tuning | gpt-4o-mini | <u>1.03</u> | **1.17** | **1.10** | – |" in md
    assert "| 3 | CoT | claude-sonnet-4-0 | *0.99* |" in md
    tex = (tmp_path / "leaderboard.tex").read_text(encoding="utf-8")
    assert r"\textbf{1.10}" in tex and r"\underline{1.02}" in tex and r"\textit{0.98}" in tex
