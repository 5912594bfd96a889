"""Read a scenario file and report everything wrong with it, each problem with a JSON path."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from sharehouse.scenario.crossref import raw_cross_reference_problems
from sharehouse.scenario.models import CROSS_REFERENCE_ERROR, Scenario, json_path
from sharehouse.settings import env_name, get_settings

SCENARIO_ENV = env_name("scenario")


class ScenarioError(ValueError):
    """A scenario file that cannot be used; ``errors`` holds ``(json_path, message)`` pairs."""

    def __init__(self, path: str | Path, errors: list[tuple[str, str]]) -> None:
        self.path = Path(path)
        self.errors = list(errors)
        super().__init__(str(self))

    def lines(self) -> list[str]:
        return [f"{self.path}: {where}: {message}" for where, message in self.errors]

    def __str__(self) -> str:
        return "\n".join(self.lines())


def default_scenario_path() -> Path:
    """``$SHAREHOUSE_SCENARIO`` when set, else the scenario shipped in the package
    (``sharehouse/data/sharehouse.json``)."""
    from sharehouse.data import SCENARIO, shipped

    override = get_settings().scenario
    if override is not None:
        return override.expanduser()
    return shipped(SCENARIO)


def validation_errors(exc: ValidationError) -> list[tuple[str, str]]:
    """Flatten a pydantic error into ``(json_path, message)`` pairs, expanding cross-reference problems."""
    found: list[tuple[str, str]] = []
    for error in exc.errors(include_url=False):
        loc = tuple(error["loc"])
        ctx: dict[str, Any] = error.get("ctx") or {}
        if error["type"] == CROSS_REFERENCE_ERROR and "problems" in ctx:
            for sub_loc, message in ctx["problems"]:
                found.append((json_path(loc + tuple(sub_loc)), message))
        else:
            found.append((json_path(loc), _message(error)))
    return found


def _message(error: Any) -> str:
    message = str(error["msg"])
    if error["type"] in {"extra_forbidden", "missing"}:
        return message.lower() if error["type"] == "missing" else "unknown field (not allowed)"
    if error["type"].endswith("_type") or error["type"] in {"literal_error", "string_pattern_mismatch"}:
        return f"{message}, got {json.dumps(error.get('input'), ensure_ascii=False, default=str)[:60]}"
    return message


def parse_scenario(data: Any, path: str | Path = "<scenario>") -> Scenario:
    """Validate already-parsed JSON data; raises :class:`ScenarioError` listing every problem.

    One pass: pydantic's field errors and the cross-reference problems of the raw data (which do not
    wait for the fields to be valid) are reported together, field errors first. A cross-reference
    problem at a path that already has a field error is left out (the field error says it).
    """
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        found = validation_errors(exc)
    cross = [(json_path(loc), message) for loc, message in raw_cross_reference_problems(data)]
    field_paths = {where for where, _ in found}
    merged = list(found)
    for item in cross:
        if item[0] not in field_paths and item not in merged:
            merged.append(item)
    raise ScenarioError(path, merged)


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario file; raises :class:`ScenarioError` listing every problem."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ScenarioError(path, [("$", "file not found")]) from None
    except OSError as exc:
        raise ScenarioError(path, [("$", f"cannot read file: {exc.strerror or exc}")]) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ScenarioError(path, [("$", f"not valid UTF-8 (byte {exc.start}: {exc.reason})")]) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno}, column {exc.colno}"
        raise ScenarioError(path, [("$", f"invalid JSON at {where}: {exc.msg}")]) from None
    return parse_scenario(data, path)


def validate_scenario_file(path: str | Path) -> list[str]:
    """``[]`` when the file is a valid scenario, else one formatted line per problem."""
    try:
        load_scenario(path)
    except ScenarioError as exc:
        return exc.lines()
    return []
