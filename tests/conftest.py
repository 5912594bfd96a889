"""Shared fixtures: the shared/ folder, the shipped scenario, real DuckDB files, the real local model."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

# The suite draws the same hypothesis examples on every run, so a property test cannot pass on
# one clone and fail on the next. `HYPOTHESIS_PROFILE=explore make test` draws fresh random
# examples (and keeps the ones that fail in .hypothesis/) to hunt for new counterexamples.
settings.register_profile("suite", derandomize=True, database=None, print_blob=True)
settings.register_profile("explore", max_examples=500)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "suite"))

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED.exists():
        pytest.fail(f"the shared/ folder is expected beside the repository at {SHARED}")
    return SHARED


@pytest.fixture(scope="session")
def yntp_dir(shared_dir: Path) -> Path:
    return shared_dir / "yntp100"


@pytest.fixture(scope="session")
def scenario():
    from sharehouse.scenario import load_scenario
    from sharehouse.scenario.load import default_scenario_path

    return load_scenario(default_scenario_path())


@pytest.fixture
def store(tmp_path: Path):
    from sharehouse.store import Store

    s = Store(tmp_path / "test.duckdb")
    yield s
    s.close()


@pytest.fixture(scope="session")
def small_model():
    """The real packaged 0.5B GGUF model (fast), loaded once for the whole test session."""
    from sharehouse.llm import load_model, release_local_models

    yield load_model("local:small", ram_cache_bytes=1 << 30)
    release_local_models()
