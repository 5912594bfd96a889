"""From per-turn scores to the paper's tables: user means, language macro means, z-scores,
Substance / Style / Overall, and the K-means Type I/II/III groups.

Pure functions over plain rows: each row is a mapping (a ``dict``, a pydantic model such as
:class:`evaluator.scoring.TurnScores`, or ``DataFrame.to_dict("records")``) and each result is a
``list[dict]`` (``pandas.DataFrame(result)`` gives a frame). Metric columns are ``m1`` … ``m6``;
a missing metric (``None``, e.g. M6 without history, or NaN) is left out of means, never
counted as 0. Grouping keys absent from a row count as ``None``.

Steps (paper Appendix D.1):
1. :func:`user_means`: mean of a user's turns, per method/model/language/user.
2. :func:`language_means`: macro mean over users per method/model/language (the raw table).
3. :func:`zscore_users`: per metric, z = (s − μ) / σ over all user rows given; σ is the population
   standard deviation; σ = 0 gives z = 0; M1's sign is flipped so that higher is better for every
   z. Which rows are pooled is the caller's choice (:data:`Z_POOLS`): the published Table 2 was
   standardised within each language (:data:`DEFAULT_Z_POOL`), Appendix D.1's prose says over
   the whole evaluation set (``"all"``).
4. :func:`method_scores`: mean z per method/model/language, Substance = z1 + z2 + z3,
   Style = z4 + z5 + z6, Overall = (Substance + Style) / 2.
5. :func:`assign_types`: K-means (k = 3, fixed seed) on (Substance, Style) within each language;
   the cluster whose centre has the lowest Substance + Style is Type I, the highest Type III.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

from evaluator.metrics.specs import METRIC_SPECS, metric_keys, z_keys
from sharehouse.lang import LANGUAGE_ORDER as LANGUAGE_ORDER

#: The score columns ``m1`` … ``m6`` and their z-score columns, in order (:mod:`evaluator.metrics.specs`).
METRICS: tuple[str, ...] = metric_keys()
Z_METRICS: tuple[str, ...] = z_keys()
#: The z-score columns summed into Substance (z1–z3) and into Style (z4–z6).
SUBSTANCE_Z: tuple[str, ...] = z_keys("substance")
STYLE_Z: tuple[str, ...] = z_keys("style")
USER_KEYS: tuple[str, ...] = ("method", "model", "language", "user")
GROUP_KEYS: tuple[str, ...] = ("method", "model", "language")
LOWER_IS_BETTER: frozenset[str] = frozenset(s.key for s in METRIC_SPECS if s.lower_is_better)
TYPE_NAMES: tuple[str, str, str] = ("Type I", "Type II", "Type III")
ZPool = Literal["language", "all"]
#: The user rows each metric is standardised over: each language on its own, or every user of the run.
Z_POOLS: tuple[str, ...] = ("language", "all")
#: Within each language: the pooling that reproduces the published Table 2.
DEFAULT_Z_POOL: ZPool = "language"


def _as_dict(row: Any) -> Mapping[str, Any]:
    if isinstance(row, Mapping):
        return row
    dump = getattr(row, "model_dump", None)
    if callable(dump):
        return dump()
    raise TypeError(f"cannot read scores from {type(row).__name__}")


def _value(row: Mapping[str, Any], col: str) -> float | None:
    v = row.get(col)
    if v is None:
        return None
    f = float(v)
    return f if math.isfinite(f) else None


def _mean(values: Iterable[float | None]) -> float | None:
    got = [v for v in values if v is not None]
    return sum(got) / len(got) if got else None


def _group(rows: Iterable[Any], keys: Sequence[str]) -> dict[tuple[Any, ...], list[Mapping[str, Any]]]:
    groups: dict[tuple[Any, ...], list[Mapping[str, Any]]] = {}
    for raw in rows:
        row = _as_dict(raw)
        groups.setdefault(tuple(row.get(k) for k in keys), []).append(row)
    return groups


def _means(
    rows: Iterable[Any], keys: Sequence[str], cols: Sequence[str], count_name: str
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for key, members in _group(rows, keys).items():
        rec: dict[str, Any] = dict(zip(keys, key, strict=True))
        for col in cols:
            rec[col] = _mean(_value(r, col) for r in members)
        rec[count_name] = len(members)
        out.append(rec)
    return out


def user_means(turns: Iterable[Any], *, keys: Sequence[str] = USER_KEYS) -> list[dict[str, Any]]:
    """One row per user (per method/model/language): the mean of each metric over their turns."""
    return _means(turns, keys, METRICS, "turns")


def language_means(users: Iterable[Any], *, keys: Sequence[str] = GROUP_KEYS) -> list[dict[str, Any]]:
    """One row per method/model/language: the macro mean over users (Table 5 of the paper)."""
    return _means(users, keys, METRICS, "users")


CONSTANT_POOL_RTOL = 1e-9
"""A pool whose standard deviation is at most this fraction of its largest value (or of 1) is
constant: every z is 0. Below it the spread is rounding noise and z would only amplify it."""


def zscore_users(users: Sequence[Any]) -> list[dict[str, Any]]:
    """The user rows with ``z1`` … ``z6`` added, standardised over all the rows given."""
    rows = [dict(_as_dict(r)) for r in users]
    for metric, z in zip(METRICS, Z_METRICS, strict=True):
        values = [v for v in (_value(r, metric) for r in rows) if v is not None]
        mu = sum(values) / len(values) if values else 0.0
        sigma = math.sqrt(sum((v - mu) ** 2 for v in values) / len(values)) if values else 0.0
        sign = -1.0 if metric in LOWER_IS_BETTER else 1.0
        if sigma <= CONSTANT_POOL_RTOL * max([1.0, *(abs(v) for v in values)]):
            sigma = 0.0  # a spread below float resolution is noise: the pool is constant
        for r in rows:
            v = _value(r, metric)
            if v is None:
                r[z] = None
            else:
                r[z] = 0.0 if sigma == 0.0 else sign * (v - mu) / sigma
    return rows


def zscore_pooled(users: Sequence[Any], pool: ZPool = DEFAULT_Z_POOL) -> list[dict[str, Any]]:
    """:func:`zscore_users` over the pool: each language's rows on their own (``"language"``) or
    all rows together (``"all"``). Rows come back grouped by language in first-seen order."""
    if pool not in Z_POOLS:
        raise ValueError(f"z_pool must be one of {', '.join(Z_POOLS)}, not {pool!r}")
    if pool == "all":
        return zscore_users(users)
    out: list[dict[str, Any]] = []
    for members in _group(users, ("language",)).values():
        out.extend(zscore_users(members))
    return out


def _sum(values: Sequence[float | None]) -> float | None:
    return None if any(v is None for v in values) else sum(v for v in values if v is not None)


def method_scores(z_users: Iterable[Any], *, keys: Sequence[str] = GROUP_KEYS) -> list[dict[str, Any]]:
    """Mean z per method/model/language with Substance, Style and Overall.

    Substance or Style is ``None`` when one of its z-scores is missing for the whole group.
    """
    out = _means(z_users, keys, Z_METRICS, "users")
    for rec in out:
        rec["substance"] = _sum([rec[z] for z in SUBSTANCE_Z])
        rec["style"] = _sum([rec[z] for z in STYLE_Z])
        both = [rec["substance"], rec["style"]]
        rec["overall"] = None if None in both else (rec["substance"] + rec["style"]) / 2.0
    return out


def cluster_types(points: Sequence[tuple[float, float]], *, seed: int = 0) -> list[str]:
    """Type I/II/III for each (Substance, Style) point by K-means with k = 3.

    With fewer than three distinct points k shrinks: two clusters are Type I and Type III, a
    single one is Type II.
    """
    if not points:
        return []
    import numpy as np
    from sklearn.cluster import KMeans

    data = np.asarray(points, dtype=np.float64)
    k = min(3, len({tuple(p) for p in data.tolist()}))
    if k == 1:
        return [TYPE_NAMES[1]] * len(points)
    km = KMeans(n_clusters=k, n_init=10, random_state=seed).fit(data)
    order = np.argsort(km.cluster_centers_.sum(axis=1))
    names = TYPE_NAMES if k == 3 else (TYPE_NAMES[0], TYPE_NAMES[2])
    rank = {int(c): names[i] for i, c in enumerate(order)}
    return [rank[int(label)] for label in km.labels_]


def assign_types(
    method_rows: Sequence[Mapping[str, Any]], *, by: str | None = "language", seed: int = 0
) -> list[dict[str, Any]]:
    """The method rows with ``type`` added, clustered separately per value of ``by`` (or all together).

    Rows without both Substance and Style get ``type = None``.
    """
    rows = [dict(r) for r in method_rows]
    for r in rows:
        r["type"] = None
    buckets: dict[Any, list[dict[str, Any]]] = {}
    for r in rows:
        if r.get("substance") is not None and r.get("style") is not None:
            buckets.setdefault(r.get(by) if by else None, []).append(r)
    for members in buckets.values():
        labels = cluster_types([(m["substance"], m["style"]) for m in members], seed=seed)
        for m, label in zip(members, labels, strict=True):
            m["type"] = label
    return rows
