"""sharehouse: a shared-house text adventure, simulator, session store and evaluator for YNTP research."""

__version__ = "0.1.0"
