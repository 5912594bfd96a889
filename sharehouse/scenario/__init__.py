"""The scenario file: pydantic models, loading and validation with JSON-path errors."""

from sharehouse.scenario.load import (
    SCENARIO_ENV,
    ScenarioError,
    default_scenario_path,
    load_scenario,
    parse_scenario,
    validate_scenario_file,
)
from sharehouse.scenario.models import (
    LANGS,
    NPC,
    Check,
    CheckKind,
    Day,
    House,
    I18nText,
    Lang,
    MbtiDim,
    Room,
    Scenario,
    State,
    cross_reference_problems,
    json_path,
)

__all__ = [
    "LANGS",
    "NPC",
    "SCENARIO_ENV",
    "Check",
    "CheckKind",
    "Day",
    "House",
    "I18nText",
    "Lang",
    "MbtiDim",
    "Room",
    "Scenario",
    "ScenarioError",
    "State",
    "cross_reference_problems",
    "default_scenario_path",
    "json_path",
    "load_scenario",
    "parse_scenario",
    "validate_scenario_file",
]
