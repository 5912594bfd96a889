"""Data shipped inside the package, read with :mod:`importlib.resources` so that a wheel install
finds it as well as a source checkout: the scenario (``sharehouse.json``) and the default personas
(``default_personas.jsonl``)."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

SCENARIO = "sharehouse.json"
PERSONAS = "default_personas.jsonl"


def shipped(name: str) -> Path:
    """The path of a shipped data file (packages are installed unzipped, so it is a real file)."""
    return Path(str(files(__name__).joinpath(name)))
