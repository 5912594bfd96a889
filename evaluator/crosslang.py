"""The cross-language leaderboard (the paper's Table 3): one row per configuration (method × model).

Substance is the mean of the z-scores M1–M3 over the languages (9 values for en/ja/zh), Style the
mean of M4–M6 over the languages, Overall the mean of the two. These are *means*, unlike the
per-language Substance/Style of the type plot, which are sums.

A configuration is ranked only when it has every z-score in every language of the run (the union
of the languages of all configurations, or the ``languages`` given). One without some language or
some z-score is listed after the ranked ones with the languages it has and what it is missing, and
its Substance / Style / Overall are left empty: a mean over fewer languages is not the same
quantity and is never shown as if it were. Best, second and third of each of Substance, Style and
Overall (among the ranked rows; equal values share a place) are recorded in ``places``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from evaluator.metrics.aggregate import LANGUAGE_ORDER, STYLE_Z, SUBSTANCE_Z, Z_METRICS

SCORE_COLUMNS: tuple[str, ...] = ("substance", "style", "overall")
#: How many leading places are marked (best, second, third).
MARKED_PLACES = 3


def _lang_key(lang: str) -> tuple[int, str]:
    return (LANGUAGE_ORDER.get(lang, 9), lang)


def _places(rows: Sequence[dict[str, Any]], column: str) -> None:
    distinct = sorted({round(r[column], 12) for r in rows}, reverse=True)[:MARKED_PLACES]
    place = {v: i + 1 for i, v in enumerate(distinct)}
    for r in rows:
        got = place.get(round(r[column], 12))
        if got is not None:
            r["places"][column] = got


def cross_language_rows(
    method_rows: Iterable[Mapping[str, Any]], *, languages: Sequence[str] | None = None
) -> list[dict[str, Any]]:
    """Rows ``rank, method, model, languages, missing, complete, substance, style, overall, places``
    from per-language rows (keys ``method``, ``model``, ``language``, ``z1`` … ``z6``).

    Ranked rows first (by Overall, best first; ``rank`` 1, 2, …), then the incomplete ones
    (``rank`` None) by method and model."""
    by_config: dict[tuple[str, str], dict[str, Mapping[str, Any]]] = {}
    for r in method_rows:
        by_config.setdefault((r["method"], r["model"]), {})[r["language"]] = r
    wanted = sorted(
        set(languages) if languages is not None else {lang for c in by_config.values() for lang in c},
        key=_lang_key,
    )
    ranked: list[dict[str, Any]] = []
    partial: list[dict[str, Any]] = []
    for (method, model), per_lang in by_config.items():
        have = sorted(per_lang, key=_lang_key)
        missing = [lang for lang in wanted if lang not in per_lang]
        for lang in wanted:
            if lang in per_lang:
                missing += [f"{lang}:{z}" for z in Z_METRICS if per_lang[lang].get(z) is None]
        row: dict[str, Any] = {
            "rank": None, "method": method, "model": model, "languages": have, "missing": missing,
            "complete": not missing, "substance": None, "style": None, "overall": None, "places": {},
        }  # fmt: skip
        if missing:
            partial.append(row)
            continue
        subst = [float(per_lang[lang][z]) for lang in wanted for z in SUBSTANCE_Z]
        style = [float(per_lang[lang][z]) for lang in wanted for z in STYLE_Z]
        row["substance"] = sum(subst) / len(subst)
        row["style"] = sum(style) / len(style)
        row["overall"] = (row["substance"] + row["style"]) / 2.0
        ranked.append(row)
    ranked.sort(key=lambda r: (-r["overall"], r["method"], r["model"]))
    for i, r in enumerate(ranked, start=1):
        r["rank"] = i
    for column in SCORE_COLUMNS:
        _places(ranked, column)
    partial.sort(key=lambda r: (r["method"], r["model"]))
    return ranked + partial


def describe_missing(row: Mapping[str, Any]) -> str:
    """``"–"`` for a ranked row, else e.g. ``"no zh; ja:z6 missing"``."""
    langs = [m for m in row["missing"] if ":" not in m]
    zs = [m for m in row["missing"] if ":" in m]
    parts = ([f"no {', '.join(langs)}"] if langs else []) + ([f"{', '.join(zs)} missing"] if zs else [])
    return "; ".join(parts) or "–"
