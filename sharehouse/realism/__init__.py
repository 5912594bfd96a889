"""How close simulated users write to real people: style features, distances, diversity, plots."""

from sharehouse.realism.diversity import Diversity, nearest_centroid_diversity
from sharehouse.realism.features import FEATURES_BY_LANGUAGE, feature_vector, style_features
from sharehouse.realism.plot import save_plot
from sharehouse.realism.report import FeatureComparison, LanguageReport, RealismReport, realism_report
from sharehouse.realism.table import render_table
from sharehouse.realism.yntp import load_yntp_replies

__all__ = [
    "FEATURES_BY_LANGUAGE",
    "Diversity",
    "FeatureComparison",
    "LanguageReport",
    "RealismReport",
    "feature_vector",
    "load_yntp_replies",
    "nearest_centroid_diversity",
    "realism_report",
    "render_table",
    "save_plot",
    "style_features",
]
