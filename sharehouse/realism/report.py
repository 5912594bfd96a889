"""Real people vs simulated users: per-language feature distributions, distances and diversity."""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel
from scipy.stats import ks_2samp, wasserstein_distance

from sharehouse.realism.diversity import Diversity, nearest_centroid_diversity
from sharehouse.realism.features import FEATURES_BY_LANGUAGE, feature_vector, style_features

Replies = dict[str, tuple[str, list[str]]]


class Histogram(BaseModel):
    """Counts of real and simulated values over shared bin edges (the last bin takes the overflow)."""

    edges: list[float]
    real: list[int]
    sim: list[int]


class FeatureComparison(BaseModel):
    feature: str
    real_mean: float
    sim_mean: float
    real_std: float
    sim_std: float
    wasserstein: float
    # Wasserstein distance divided by the real standard deviation (comparable across features);
    # None when the real values do not vary.
    wasserstein_norm: float | None
    ks: float
    ks_pvalue: float
    n_real: int
    n_sim: int
    hist: Histogram


class LanguageReport(BaseModel):
    language: str
    real_people: int
    sim_people: int
    features: list[FeatureComparison]
    diversity_real: Diversity | None
    diversity_sim: Diversity | None

    def feature(self, name: str) -> FeatureComparison:
        for f in self.features:
            if f.feature == name:
                return f
        raise KeyError(f"no feature {name!r} for {self.language}")


class RealismReport(BaseModel):
    languages: list[LanguageReport]
    only_real: list[str] = []  # languages with real data but no simulated replies
    only_sim: list[str] = []

    def language(self, lang: str) -> LanguageReport:
        for rep in self.languages:
            if rep.language == lang:
                return rep
        raise KeyError(f"no language {lang!r} in the report")


def _by_language(data: Replies) -> dict[str, dict[str, list[str]]]:
    out: dict[str, dict[str, list[str]]] = {}
    for user, (lang, replies) in data.items():
        texts = [r for r in replies if r and r.strip()]
        if texts:
            out.setdefault(lang, {})[user] = texts
    return out


def _histogram(real: np.ndarray, sim: np.ndarray, bins: int) -> Histogram:
    pooled = np.concatenate([real, sim])
    low, high = float(pooled.min()), float(np.quantile(pooled, 0.99))
    if high <= low:
        high = low + 1.0
    edges = np.linspace(low, high, bins + 1)
    real_counts, _ = np.histogram(np.clip(real, low, high), bins=edges)
    sim_counts, _ = np.histogram(np.clip(sim, low, high), bins=edges)
    return Histogram(edges=edges.tolist(), real=real_counts.tolist(), sim=sim_counts.tolist())


def _compare(name: str, real: np.ndarray, sim: np.ndarray, bins: int) -> FeatureComparison:
    w = float(wasserstein_distance(real, sim))
    ks = ks_2samp(real, sim)
    real_std = float(real.std())
    return FeatureComparison(
        feature=name,
        real_mean=float(real.mean()),
        sim_mean=float(sim.mean()),
        real_std=real_std,
        sim_std=float(sim.std()),
        wasserstein=w,
        wasserstein_norm=w / real_std if real_std > 0 else None,
        ks=float(ks.statistic),
        ks_pvalue=float(ks.pvalue),
        n_real=int(real.size),
        n_sim=int(sim.size),
        hist=_histogram(real, sim, bins),
    )


def _diversity(people: dict[str, list[str]], lang: str) -> Diversity | None:
    return nearest_centroid_diversity(
        {pid: [feature_vector(t, lang) for t in texts] for pid, texts in people.items()}
    )


def realism_report(real: Replies, sim: Replies, *, bins: int = 20) -> RealismReport:
    """Compare reply styles of real people and simulated users, language by language.

    ``real`` and ``sim`` map a user id to ``(language, replies)`` (see :func:`load_yntp_replies`).
    """
    real_by, sim_by = _by_language(real), _by_language(sim)
    reports: list[LanguageReport] = []
    for lang in sorted(set(real_by) & set(sim_by)):
        if lang not in FEATURES_BY_LANGUAGE:
            raise ValueError(f"unknown language {lang!r}; expected one of {sorted(FEATURES_BY_LANGUAGE)}")
        real_rows = [style_features(t, lang) for texts in real_by[lang].values() for t in texts]
        sim_rows = [style_features(t, lang) for texts in sim_by[lang].values() for t in texts]
        comparisons = [
            _compare(
                name,
                np.array([row[name] for row in real_rows]),
                np.array([row[name] for row in sim_rows]),
                bins,
            )
            for name in FEATURES_BY_LANGUAGE[lang]
        ]
        reports.append(
            LanguageReport(
                language=lang,
                real_people=len(real_by[lang]),
                sim_people=len(sim_by[lang]),
                features=comparisons,
                diversity_real=_diversity(real_by[lang], lang),
                diversity_sim=_diversity(sim_by[lang], lang),
            )
        )
    return RealismReport(
        languages=reports,
        only_real=sorted(set(real_by) - set(sim_by)),
        only_sim=sorted(set(sim_by) - set(real_by)),
    )
