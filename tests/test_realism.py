"""Realism report: style features, distances and diversity, real YNTP-100 vs simulated replies."""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.console import Console

from sharehouse.realism import (
    FEATURES_BY_LANGUAGE,
    load_yntp_replies,
    nearest_centroid_diversity,
    realism_report,
    render_table,
    save_plot,
    style_features,
)


@pytest.fixture(scope="module")
def yntp_dir() -> Path:
    path = Path(__file__).resolve().parents[2] / "shared" / "yntp100"
    assert path.is_dir(), f"shared YNTP-100 data missing at {path}"
    return path


@pytest.fixture(scope="module")
def real(yntp_dir: Path) -> dict[str, tuple[str, list[str]]]:
    return load_yntp_replies(yntp_dir)


def test_style_features_english() -> None:
    f = style_features("Hello, world! How are you?", "en")
    assert set(f) == set(FEATURES_BY_LANGUAGE["en"])
    assert f["chars"] == 22
    assert f["words"] == 5
    assert f["ttr"] == 1.0
    assert f["punct_rate"] == pytest.approx(3 / 22)
    assert (f["question"], f["line_break"], f["emoji_rate"]) == (1.0, 0.0, 0.0)
    assert style_features("the cat and the dog", "en")["ttr"] == pytest.approx(4 / 5)


def test_style_features_japanese() -> None:
    f = style_features("はい、そうです。\nありがとう😊", "ja")
    assert "words" not in f
    assert f["chars"] == 14
    assert f["punct_rate"] == pytest.approx(2 / 14)
    assert f["emoji_rate"] == pytest.approx(1 / 14)
    assert f["line_break"] == 1.0 and f["question"] == 0.0
    assert f["ttr"] == pytest.approx(10 / 11)  # う appears twice among 11 kana


def test_style_features_chinese_and_edge_cases() -> None:
    f = style_features("你好你好？", "zh")
    assert f["chars"] == 5
    assert f["ttr"] == 0.5
    assert f["question"] == 1.0
    assert f["punct_rate"] == pytest.approx(1 / 5)
    empty = style_features("   ", "zh")
    assert empty["chars"] == 0 and empty["ttr"] == 0.0 and empty["punct_rate"] == 0.0
    with pytest.raises(ValueError, match="unknown language"):
        style_features("hi", "fr")


def test_load_yntp_replies(real: dict[str, tuple[str, list[str]]]) -> None:
    assert len(real) == 100
    langs = [lang for lang, _ in real.values()]
    assert (langs.count("en"), langs.count("zh"), langs.count("ja")) == (33, 34, 33)
    assert real["jp_1"][0] == "ja" and real["cn_1"][0] == "zh" and real["en_1"][0] == "en"
    assert all(replies and all(r.strip() for r in replies) for _, replies in real.values())


def test_load_yntp_replies_missing_dir(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_yntp_replies(tmp_path / "nope")
    with pytest.raises(FileNotFoundError, match="no YNTP-100 files"):
        load_yntp_replies(tmp_path)


def test_identical_data_gives_zero_distance(real: dict[str, tuple[str, list[str]]]) -> None:
    report = realism_report(real, real)
    assert [lang.language for lang in report.languages] == ["en", "ja", "zh"]
    for lang in report.languages:
        assert [f.feature for f in lang.features] == list(FEATURES_BY_LANGUAGE[lang.language])
        for f in lang.features:
            assert f.wasserstein == pytest.approx(0.0, abs=1e-12)
            assert f.ks == pytest.approx(0.0, abs=1e-12)
            assert f.real_mean == pytest.approx(f.sim_mean)
            assert f.hist.real == f.hist.sim
        assert lang.diversity_real == lang.diversity_sim


def _perturb(
    data: dict[str, tuple[str, list[str]]], keep: float, suffix: str
) -> dict[str, tuple[str, list[str]]]:
    return {
        f"sim-{uid}": (lang, [r[: max(1, int(len(r) * keep))] + suffix for r in replies])
        for uid, (lang, replies) in data.items()
    }


def test_perturbed_copy_gives_sensible_distances(real: dict[str, tuple[str, list[str]]]) -> None:
    mild = realism_report(real, _perturb(real, 0.9, ""))
    strong = realism_report(real, _perturb(real, 0.3, "!!"))
    for lang in ("en", "ja", "zh"):
        m_chars, s_chars = mild.language(lang).feature("chars"), strong.language(lang).feature("chars")
        assert s_chars.sim_mean < m_chars.sim_mean < m_chars.real_mean
        assert 0 < m_chars.wasserstein < s_chars.wasserstein
        assert 0 < m_chars.ks < s_chars.ks <= 1
        assert (
            strong.language(lang).feature("punct_rate").sim_mean
            > strong.language(lang).feature("punct_rate").real_mean
        )
        # Emoji never appear in either: no distance.
        assert strong.language(lang).feature("emoji_rate").wasserstein == 0.0


def test_real_people_are_more_distinguishable_than_chance(real: dict[str, tuple[str, list[str]]]) -> None:
    report = realism_report(real, real)
    for lang in report.languages:
        d = lang.diversity_real
        assert d is not None and d.people >= 33
        assert d.chance == pytest.approx(1 / d.people)
        assert d.accuracy > 2 * d.chance


def test_diversity_on_constructed_people() -> None:
    apart = {"a": [[0.0, 0.0], [0.1, 0.0], [0.0, 0.1]], "b": [[5.0, 5.0], [5.1, 5.0], [5.0, 5.1]]}
    d = nearest_centroid_diversity(apart)
    assert d is not None and d.accuracy == 1.0 and d.chance == 0.5 and d.lift == 2.0
    same = {"a": [[1.0, 1.0], [1.0, 1.0]], "b": [[1.0, 1.0], [1.0, 1.0]]}
    d_same = nearest_centroid_diversity(same)
    assert d_same is not None and d_same.accuracy <= 0.5
    assert nearest_centroid_diversity({"a": [[1.0], [2.0]], "b": [[3.0]]}) is None


def test_languages_on_one_side_only_are_listed() -> None:
    real = {"r1": ("en", ["hi there", "ok"]), "r2": ("ja", ["はい", "いいえ"])}
    sim = {"s1": ("en", ["hello!", "fine"]), "s2": ("zh", ["好的", "可以"])}
    report = realism_report(real, sim)
    assert [lang.language for lang in report.languages] == ["en"]
    assert report.only_real == ["ja"] and report.only_sim == ["zh"]
    assert report.language("en").diversity_real is None  # one person only


def test_table_and_plot(real: dict[str, tuple[str, list[str]]], tmp_path: Path) -> None:
    report = realism_report(real, _perturb(real, 0.5, ""))
    console = Console(record=True, width=160)
    console.print(render_table(report))
    text = console.export_text()
    for token in ("en", "ja", "zh", "chars", "ttr", "diversity real", "diversity sim", "chance"):
        assert token in text
    out = save_plot(report, tmp_path / "plots" / "realism.png")
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
    report_json = report.model_dump_json()
    assert "wasserstein" in report_json


def test_simulated_replies_leave_out_canned_fallbacks(tmp_path: Path) -> None:
    from sharehouse.realism.store import simulated_replies
    from sharehouse.store import Position, SessionRecord, Store, TurnRecord

    with Store(tmp_path / "r.duckdb") as store:
        store.create_session(
            SessionRecord(id="s-1", kind="simulated", source="simulate", run_id="r1", user_id="p-en-001",
                          language="en", position_day=1, position_state="a")
        )  # fmt: skip
        spoken = TurnRecord(
            session_id="s-1", day=1, idx=0, npc="Leo", message="m", response="pizza, obviously"
        )
        canned = TurnRecord(
            session_id="s-1",
            day=1,
            idx=1,
            npc="Leo",
            message="m",
            response="sounds fun tbh.",
            reply_fallback=True,
        )
        store.append_turn(spoken, Position(day=1, state="a"))
        store.append_turn(canned, Position(day=1, state="a"))
        assert simulated_replies(store, "r1") == {"p-en-001": ("en", ["pizza, obviously"])}
