"""The method registry and contract: lazy loading, every registered name listed, explicit checks."""

from __future__ import annotations

import subprocess
import sys

import pytest

from evaluator.methods import METHOD_MODULES, get_method, load_all
from evaluator.methods.base import MethodBase
from evaluator.protocols import PROTOCOLS, method_protocols


def test_asking_for_one_method_imports_only_its_module() -> None:
    probe = (
        "import sys; from evaluator.methods import get_method; m = get_method('zero-shot'); "
        "print(m.name, 'evaluator.methods.lora' in sys.modules, 'evaluator.methods.retrieval' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["zero-shot", "False", "False"]


def test_every_registered_method_is_listed_where_it_lives() -> None:
    registry = load_all()
    assert sorted(registry) == sorted(METHOD_MODULES)
    for name in METHOD_MODULES:
        method = get_method(name)
        assert isinstance(method, MethodBase) and method.name == name
        assert set(method_protocols(method)) <= set(PROTOCOLS)
    with pytest.raises(KeyError, match="unknown method 'nope'"):
        get_method("nope")


def test_the_contract_refuses_api_models_for_training_and_bad_options() -> None:
    for name in ("lora", "dpo", "aligner"):
        with pytest.raises(ValueError):
            get_method(name).check_model("openai/gpt-4o-mini")
        with pytest.raises(ValueError):
            get_method(name).check_options({"epochs": "many"})
    get_method("zero-shot").check_model("openai/gpt-4o-mini")  # a prompting method runs anywhere
    get_method("zero-shot").check_options({})
