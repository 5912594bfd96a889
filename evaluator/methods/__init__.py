"""Personalization methods, registered by name (see :mod:`evaluator.methods.base`).

The registry is lazy: :data:`METHOD_MODULES` says where each method is defined, and
:func:`get_method` imports only that module (the training methods pull in torch and peft; a run
of the prompting methods never loads them). :func:`load_all` imports every module, for listings.
"""

from __future__ import annotations

import importlib

from evaluator.methods.base import REGISTRY, Method

#: method name -> the module that registers it
METHOD_MODULES: dict[str, str] = {
    "zero-shot": "evaluator.methods.prompting",
    "few-shot+style": "evaluator.methods.prompting",
    "few-shot-mbti+style": "evaluator.methods.prompting",
    "cot+style": "evaluator.methods.prompting",
    "few-shot": "evaluator.methods.paper",
    "few-shot-mbti": "evaluator.methods.paper",
    "cot": "evaluator.methods.paper",
    "gpg": "evaluator.methods.profile",
    "retrieval": "evaluator.methods.retrieval",
    "lora": "evaluator.methods.lora",
    "dpo": "evaluator.methods.dpo",
    "aligner": "evaluator.methods.aligner",
}


def _import(module: str) -> None:
    try:
        importlib.import_module(module)
    except ModuleNotFoundError as exc:  # an optional extra (train) is not installed
        if exc.name != module:
            raise


def get_method(name: str) -> Method:
    """A new instance of method ``name``; only its own module is imported."""
    if name not in REGISTRY and name in METHOD_MODULES:
        _import(METHOD_MODULES[name])
    try:
        return REGISTRY[name]()
    except KeyError:
        raise KeyError(f"unknown method {name!r}; known: {', '.join(sorted(METHOD_MODULES))}") from None


def load_all() -> dict[str, object]:
    """Import every method module (they register themselves) and return the registry."""
    for module in dict.fromkeys(METHOD_MODULES.values()):
        _import(module)
    return dict(REGISTRY)


__all__ = ["METHOD_MODULES", "REGISTRY", "get_method", "load_all"]
