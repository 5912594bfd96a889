"""The package as Python users install it: a built wheel, installed without the source tree, finds
its shipped scenario, personas and stylesheets."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

_PROBE = """
import json, sys
import sharehouse
from sharehouse.personas.io import default_personas_path, load_personas
from sharehouse.scenario import default_scenario_path, load_scenario
scenario = load_scenario(default_scenario_path())
personas = load_personas(default_personas_path())
print(json.dumps({"package": sharehouse.__file__, "days": len(scenario.days), "personas": len(personas)}))
"""


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Build from a copy of the tracked sources: setuptools writes build/ into the tree it builds.
    src = tmp_path_factory.mktemp("src")
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    for name in tracked.decode().split("\0"):
        if name and (ROOT / name).is_file():
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, src / name)
    out = tmp_path_factory.mktemp("wheel")
    pip_wheel = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q"]
    subprocess.run([*pip_wheel, "-w", str(out), str(src)], check=True, cwd=out)
    (built,) = out.glob("sharehouse-*.whl")
    return built


def test_the_wheel_carries_the_shipped_data(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {"sharehouse/data/sharehouse.json", "sharehouse/data/default_personas.jsonl"} <= names
    assert any(n.startswith("sharehouse/tui/") and n.endswith(".tcss") for n in names)


def test_an_installed_wheel_finds_its_scenario_and_personas(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
        check=True,
    )
    # Run from an empty folder with only the installed copy first on the path: no source tree in reach.
    env = {**os.environ, "PYTHONPATH": str(target)}
    env.pop("SHAREHOUSE_SCENARIO", None)
    done = subprocess.run(
        [sys.executable, "-c", _PROBE], cwd=tmp_path, env=env, capture_output=True, text=True, check=True
    )
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert Path(found["package"]).is_relative_to(target)
    assert found["days"] == 5 and found["personas"] >= 100
