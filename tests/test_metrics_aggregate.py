"""Aggregation: user means, language macro means, z-scores, Substance/Style/Overall, types."""

from __future__ import annotations

import math

import pytest

from evaluator.metrics.aggregate import (
    assign_types,
    cluster_types,
    language_means,
    method_scores,
    user_means,
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
