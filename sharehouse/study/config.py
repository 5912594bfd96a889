"""A study's settings and the participant instruments: which questions a study asks, and the
answers' shapes.

A study file is JSON (``.json``) or TOML (``.toml``) with the fields of :class:`StudyConfig`::

    {"name": "spring-2027", "pre_mbti": true, "post_questionnaire": true}

Every field is optional; an unknown field is an error, so a misspelt option is not silently ignored.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Final

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from sharehouse.personas.models import MBTI_TYPES
from sharehouse.textclean import sanitize_input

#: What the pre-game question offers: the 16 types, and "unknown" for "I don't know".
MBTI_UNKNOWN: Final[str] = "unknown"
MBTI_CHOICES: Final[tuple[str, ...]] = (*MBTI_TYPES, MBTI_UNKNOWN)
#: The age bands of the post-game questionnaire (participants are adults: see the consent text).
AGE_BANDS: Final[tuple[str, ...]] = (
    "18-24", "25-34", "35-44", "45-54", "55-64", "65+", "prefer-not-to-say",
)  # fmt: skip
#: The naturalness scale: 1 (not natural at all) to 5 (completely natural).
NATURALNESS_RANGE: Final[tuple[int, int]] = (1, 5)
#: The longest free comment, in characters.
MAX_COMMENT_CHARS: Final[int] = 2000
#: The longest nickname, in characters (a display name, never a key).
MAX_NICKNAME_CHARS: Final[int] = 60


class StudyError(ValueError):
    """A study file that cannot be used; the message names the file and the field."""


class StudyConfig(BaseModel):
    """Which instruments a study uses. The default study asks nothing beyond the game."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(
        default="default", min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
    )
    pre_mbti: bool = False  # ask the participant's own MBTI type (or "don't know") before the game
    post_questionnaire: bool = False  # age band, naturalness 1-5 and a comment after the game


def load_study(path: Path) -> StudyConfig:
    """The study of a JSON or TOML file; :class:`StudyError` naming the file (and the field) otherwise."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise StudyError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    except OSError as exc:
        raise StudyError(f"{path}: cannot read the study file: {exc.strerror or exc}") from exc
    try:
        if Path(path).suffix.lower() == ".toml":
            data: object = tomllib.loads(text)
        else:
            data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise StudyError(f"{path}: line {exc.lineno} column {exc.colno}: not valid JSON: {exc.msg}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise StudyError(f"{path}: not valid TOML: {exc}") from exc
    if not isinstance(data, dict):
        raise StudyError(
            f"{path}: a study file is an object with the fields name, pre_mbti, post_questionnaire"
        )
    try:
        return StudyConfig.model_validate(data)
    except ValidationError as exc:
        problems = []
        for e in exc.errors():
            where = ".".join(str(p) for p in e["loc"]) or "(top level)"
            problems.append(f"field {where!r}: {e['msg']}")
        raise StudyError(f"{path}: " + "; ".join(problems)) from None


def normalize_mbti(value: str) -> str:
    """A self-reported type as stored: one of :data:`MBTI_CHOICES` (case and spaces ignored);
    :class:`ValueError` otherwise."""
    key = value.strip()
    if key.lower() in (MBTI_UNKNOWN, "don't know", "dont know"):
        return MBTI_UNKNOWN
    if key.upper() in MBTI_TYPES:
        return key.upper()
    raise ValueError(
        f"{value!r} is not an MBTI type: choose one of the 16 types (e.g. INFP) or {MBTI_UNKNOWN!r}"
    )


class PostAnswers(BaseModel):
    """The post-game questionnaire. Every answer may be left empty."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    age_band: str | None = None
    naturalness: int | None = None  # 1-5
    comment: str = ""

    @field_validator("age_band")
    @classmethod
    def _age_band(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if value not in AGE_BANDS:
            raise ValueError(f"age band must be one of {', '.join(AGE_BANDS)}, not {value!r}")
        return value

    @field_validator("naturalness", mode="before")
    @classmethod
    def _naturalness(cls, value: object) -> object:
        low, high = NATURALNESS_RANGE
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"naturalness must be a whole number from {low} to {high}, not {value!r}")
        if not low <= value <= high:
            raise ValueError(f"naturalness must be from {low} to {high}, not {value}")
        return value

    @field_validator("comment")
    @classmethod
    def _comment(cls, value: str) -> str:
        cleaned = sanitize_input(value, max_chars=10 * MAX_COMMENT_CHARS)
        if len(cleaned) > MAX_COMMENT_CHARS:
            raise ValueError(f"comment must be at most {MAX_COMMENT_CHARS} characters, not {len(cleaned)}")
        return cleaned
