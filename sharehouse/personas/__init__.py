"""Synthetic personas: schema, seeded generator, persona files, prompts and the simulated user."""

from sharehouse.personas.generate import generate_personas
from sharehouse.personas.io import (
    PersonaFileError,
    default_personas_path,
    load_personas,
    write_personas_jsonl,
)
from sharehouse.personas.models import MBTI_TYPES, LengthRange, MBTIStrength, Persona, WritingStyle
from sharehouse.personas.prompt import persona_prompt
from sharehouse.personas.simulated import SimulatedUser

__all__ = [
    "MBTI_TYPES",
    "LengthRange",
    "MBTIStrength",
    "Persona",
    "PersonaFileError",
    "SimulatedUser",
    "WritingStyle",
    "default_personas_path",
    "generate_personas",
    "load_personas",
    "persona_prompt",
    "write_personas_jsonl",
]
