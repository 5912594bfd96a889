"""Personalization methods, registered by name (see :mod:`evaluator.methods.base`)."""

from __future__ import annotations

import importlib

from evaluator.methods.base import REGISTRY, get_method

_MODULES = (
    "evaluator.methods.prompting",
    "evaluator.methods.paper",
    "evaluator.methods.profile",
    "evaluator.methods.retrieval",
    "evaluator.methods.lora",
    "evaluator.methods.dpo",
    "evaluator.methods.aligner",
)


def load_all() -> dict[str, object]:
    """Import every method module (they register themselves) and return the registry."""
    for mod in _MODULES:
        try:
            importlib.import_module(mod)
        except ModuleNotFoundError as exc:
            if exc.name != mod:
                raise
    return dict(REGISTRY)


__all__ = ["REGISTRY", "get_method", "load_all"]
