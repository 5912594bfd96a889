"""Aggregation: user means, language macro means, z-scores, Substance/Style/Overall, types."""

from __future__ import annotations

import math

import pytest

from evaluator.leaderboard import leaderboard_rows
from evaluator.metrics.aggregate import (
    METRICS,
    Z_METRICS,
    assign_types,
    cluster_types,
    language_means,
    method_scores,
    user_means,
    zscore_pooled,
    zscore_users,
)
from evaluator.scoring import TurnScores


def _user(method: str, user: str, value: float) -> dict:
    row: dict = {"method": method, "model": "x", "language": "en", "user": user}
    row.update({f"m{i}": value for i in range(1, 7)})
    return row


def test_user_then_language_macro_means() -> None:
    turns = [
        TurnScores(user="u1", language="en", m1=1.0, m2=0.2, m3=0.0, m4=1.0, m5=1.0, m6=0.5),
        TurnScores(user="u1", language="en", m1=3.0, m2=0.4, m3=0.2, m4=0.5, m5=0.5, m6=None),
        TurnScores(user="u2", language="en", m1=0.0, m2=1.0, m3=1.0, m4=0.0, m5=0.0, m6=0.1),
        TurnScores(user="u3", language="ja", m1=0.5, m2=0.5, m3=0.5, m4=0.5, m5=0.5, m6=0.5),
    ]
    users = user_means(turns)
    u1 = next(u for u in users if u["user"] == "u1")
    assert u1["m1"] == pytest.approx(2.0) and u1["m2"] == pytest.approx(0.3) and u1["turns"] == 2
    assert u1["m6"] == pytest.approx(0.5)  # the None turn is left out, not counted as 0
    langs = {r["language"]: r for r in language_means(users)}
    # macro: u1 (mean of two turns) and u2 weigh the same
    assert langs["en"]["m1"] == pytest.approx((2.0 + 0.0) / 2)
    assert langs["en"]["m6"] == pytest.approx((0.5 + 0.1) / 2)
    assert langs["en"]["users"] == 2 and langs["ja"]["users"] == 1


def test_zscores_substance_style_overall_hand_computed() -> None:
    # every metric takes the values 1, 3 (method A) and 2, 4 (method B) over four user rows:
    # mean 2.5, population sigma sqrt(1.25)
    rows = [
        _user("A", "u1", 1.0),
        _user("A", "u2", 3.0),
        _user("B", "u1", 2.0),
        _user("B", "u2", 4.0),
    ]
    z = zscore_users(rows)
    sigma = math.sqrt(1.25)
    assert z[0]["z2"] == pytest.approx(-1.5 / sigma)
    assert z[0]["z1"] == pytest.approx(1.5 / sigma)  # M1 flipped: a lower distance is better
    assert sum(r["z4"] for r in z) == pytest.approx(0.0)
    assert math.sqrt(sum(r["z5"] ** 2 for r in z) / 4) == pytest.approx(1.0)
    by_method = {r["method"]: r for r in method_scores(z)}
    a, b = by_method["A"], by_method["B"]
    assert a["z1"] == pytest.approx(0.5 / sigma) and a["z2"] == pytest.approx(-0.5 / sigma)
    assert a["substance"] == pytest.approx((0.5 - 0.5 - 0.5) / sigma)
    assert a["style"] == pytest.approx(-1.5 / sigma)
    assert a["overall"] == pytest.approx(-1.0 / sigma)
    assert b["substance"] == pytest.approx(0.5 / sigma)
    assert b["style"] == pytest.approx(1.5 / sigma)
    assert b["overall"] == pytest.approx(1.0 / sigma)
    assert a["users"] == 2


def test_constant_metric_and_missing_values() -> None:
    rows = [_user("A", "u1", 1.0), _user("A", "u2", 1.0)]
    rows[0]["m6"] = None
    rows[1]["m6"] = None
    z = zscore_users(rows)
    assert all(r["z2"] == 0.0 for r in z)  # sigma 0 -> z 0, not NaN
    assert all(r["z6"] is None for r in z)
    (m,) = method_scores(z)
    assert m["substance"] == 0.0
    assert m["style"] is None and m["overall"] is None


def test_cluster_types_order_by_centre() -> None:
    points = [(-3.0, -3.0), (3.0, 3.1), (0.0, 0.1), (-2.9, -3.1), (0.1, -0.1), (3.1, 2.9)]
    assert cluster_types(points) == ["Type I", "Type III", "Type II", "Type I", "Type II", "Type III"]
    assert cluster_types(points, seed=5) == cluster_types(points)
    assert cluster_types([(1.0, 1.0), (1.0, 1.0)]) == ["Type II", "Type II"]
    assert cluster_types([(0.0, 0.0), (5.0, 5.0)]) == ["Type I", "Type III"]
    assert cluster_types([]) == []


def test_assign_types_per_language() -> None:
    rows = [
        {"method": m, "language": lang, "substance": s, "style": s}
        for lang in ("en", "ja")
        for m, s in (("a", -2.0), ("b", 0.0), ("c", 2.0))
    ]
    rows.append({"method": "d", "language": "en", "substance": None, "style": 1.0})
    typed = assign_types(rows)
    assert [r["type"] for r in typed] == ["Type I", "Type II", "Type III"] * 2 + [None]


def _issue_rows() -> list[dict]:
    """Per-user scores of 3 methods × 2 models in English and Chinese (5 users each), shaped like
    the issue's few-shot gpt-4o-mini zh example: the Chinese users score lower on every metric
    than the English ones (and M1 distances are larger), so pooling over both languages moves
    each language's means away from 0. Values are a fixed, deterministic pattern."""
    rows = []
    for lang, shift in (("en", 0.0), ("zh", -0.25)):
        for mi, method in enumerate(("zero-shot", "few-shot", "cot")):
            for gi, model in enumerate(("gpt-4o-mini", "qwen")):
                for u in range(5):
                    wobble = ((u * 7 + mi * 3 + gi * 5) % 11) / 50.0
                    base = 0.4 + 0.1 * mi - 0.05 * gi + wobble + shift
                    row = {"method": method, "model": model, "language": lang, "user": f"{lang}_{u}"}
                    row.update({m: base + 0.03 * k for k, m in enumerate(METRICS)})
                    row["m1"] = 2.0 - base  # a distance: larger is worse
                    rows.append(row)
    return rows


def _pop_mean_sd(values: list[float]) -> tuple[float, float]:
    mu = sum(values) / len(values)
    return mu, math.sqrt(sum((v - mu) ** 2 for v in values) / len(values))


def test_language_pooling_standardises_within_each_language_and_is_the_default() -> None:
    users = _issue_rows()
    pooled = zscore_pooled(users)  # default: within each language
    for lang in ("en", "zh"):
        mine = [r for r in pooled if r["language"] == lang]
        assert len(mine) == 30
        for z in Z_METRICS:
            mu, sd = _pop_mean_sd([r[z] for r in mine])
            assert mu == pytest.approx(0.0, abs=1e-12) and sd == pytest.approx(1.0)
    over_all = zscore_pooled(users, "all")
    zh_all = [r["z2"] for r in over_all if r["language"] == "zh"]
    assert _pop_mean_sd(zh_all)[0] < -0.5  # over both languages, Chinese sits below the mean

    # the leaderboard row of few-shot × gpt-4o-mini in Chinese, recomputed by hand from its users
    zh = [u for u in users if u["language"] == "zh"]
    target = [u for u in zh if u["method"] == "few-shot" and u["model"] == "gpt-4o-mini"]
    expected = {}
    for m, z in zip(METRICS, Z_METRICS, strict=True):
        mu, sd = _pop_mean_sd([u[m] for u in zh])
        sign = -1.0 if m == "m1" else 1.0
        expected[z] = sum(sign * (u[m] - mu) / sd for u in target) / len(target)
    board = leaderboard_rows(users)  # user rows have no per-turn split: one turn per user
    row = next(
        r for r in board if (r["method"], r["model"], r["language"]) == ("few-shot", "gpt-4o-mini", "zh")
    )
    for z in Z_METRICS:
        assert row[z] == pytest.approx(expected[z])
    assert row["substance"] == pytest.approx(expected["z1"] + expected["z2"] + expected["z3"])
    assert row["style"] == pytest.approx(expected["z4"] + expected["z5"] + expected["z6"])
    assert row["type"] is not None

    board_all = leaderboard_rows(users, z_pool="all")
    row_all = next(
        r for r in board_all if (r["method"], r["model"], r["language"]) == ("few-shot", "gpt-4o-mini", "zh")
    )
    assert row_all["z2"] < row["z2"] - 0.5 and row_all["substance"] != pytest.approx(row["substance"])
    with pytest.raises(ValueError, match="z_pool"):
        zscore_pooled(users, "method")  # type: ignore[arg-type]
