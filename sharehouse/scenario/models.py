"""Pydantic models of a scenario file: the house, the housemates and five days of question states.

Field-level rules (types, non-empty translations, slugs, ranges) live on the fields. Rules that need
the whole scenario (ids that must exist, unique ids, day numbering, the ``start -> next`` chain of
each day, every housemate speaking somewhere, room layout) live in :mod:`sharehouse.scenario.crossref`
and run on JSON data; ``Scenario`` refuses to validate when they find anything, and carries every
problem with its location in the error context. :mod:`sharehouse.scenario.load` runs them on the raw
file as well, so field errors and cross-reference errors are reported together in one pass.
"""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    model_validator,
)
from pydantic_core import PydanticCustomError

from sharehouse.lang import LANGS as LANGS
from sharehouse.lang import Lang as Lang
from sharehouse.scenario.crossref import Problem, json_path, raw_cross_reference_problems

MbtiDim = Literal["E/I", "S/N", "T/F", "J/P", "none"]
CheckKind = Literal["llm", "any", "min_chars"]

#: Error type used when the cross-reference checks of a scenario fail; ``ctx["problems"]`` holds them.
CROSS_REFERENCE_ERROR = "scenario_cross_reference"

SLUG_PATTERN = r"^[a-z][a-z0-9_]*$"
COLOUR_PATTERN = r"^#[0-9a-fA-F]{6}$"


def _not_blank(value: str) -> str:
    if not value.strip():
        raise PydanticCustomError("empty_text", "must not be empty")
    return value


Text = Annotated[str, AfterValidator(_not_blank)]
Slug = Annotated[str, Field(pattern=SLUG_PATTERN)]

_CONFIG = ConfigDict(extra="forbid", strict=True)


class I18nText(BaseModel):
    """A player-facing string in every supported language."""

    model_config = _CONFIG

    en: Text
    ja: Text
    zh: Text

    def get(self, lang: str) -> str:
        if lang not in LANGS:
            raise KeyError(f"unsupported language {lang!r}; expected one of {', '.join(LANGS)}")
        return str(getattr(self, lang))


class Room(BaseModel):
    model_config = _CONFIG

    id: Slug
    name: I18nText
    x: int = Field(ge=0)
    y: int = Field(ge=0)
    w: int = Field(ge=1)
    h: int = Field(ge=1)

    def overlaps(self, other: Room) -> bool:
        return (
            self.x < other.x + other.w
            and other.x < self.x + self.w
            and self.y < other.y + other.h
            and other.y < self.y + self.h
        )


class House(BaseModel):
    model_config = _CONFIG

    name: I18nText
    width: int = Field(ge=1)
    height: int = Field(ge=1)
    rooms: list[Room] = Field(min_length=1)
    player_room: Slug


def _all_languages(value: dict[str, Any]) -> dict[str, Any]:
    missing = [lang for lang in LANGS if lang not in value]
    if missing:
        raise PydanticCustomError(
            "missing_language", "missing language(s): {missing}", {"missing": ", ".join(missing)}
        )
    return value


class NPC(BaseModel):
    model_config = _CONFIG

    id: Slug
    name: I18nText
    personality: I18nText
    profile: Text
    speaking_style: Annotated[dict[Lang, Text], AfterValidator(_all_languages)]
    examples: Annotated[
        dict[Lang, Annotated[list[Text], Field(min_length=1)]], AfterValidator(_all_languages)
    ]
    colour: str = Field(pattern=COLOUR_PATTERN)
    room: Slug


class Check(BaseModel):
    """How the engine decides that a player reply answers the state's question."""

    model_config = _CONFIG

    kind: CheckKind = "llm"
    criterion: str = ""  # required for kind "llm"; enforced by the scenario checks (so Check() constructs)
    min_chars: int = Field(default=2, ge=1)


class State(BaseModel):
    """One question of a day. ``poles`` (optional) says in plain words what each side of the probed
    MBTI dimension would answer, keyed by its two letters (``{"E": ..., "I": ...}``); simulated users
    build their stance from it. It guides simulated users only, so it is not part of
    :meth:`Scenario.content_hash`."""

    model_config = _CONFIG

    id: Slug
    npc: Slug
    intent: Text
    topic: I18nText
    opener: I18nText
    mbti: MbtiDim
    poles: dict[str, I18nText] | None = None
    check: Check = Field(default_factory=Check)
    max_followups: int = Field(default=2, ge=0, le=5)
    next: str | None = None

    @model_validator(mode="after")
    def _poles_match_dimension(self) -> State:
        if self.poles is None:
            return self
        if self.mbti == "none":
            raise PydanticCustomError("poles_without_dimension", "poles need an MBTI dimension, not 'none'")
        want = set(self.mbti.split("/"))
        if set(self.poles) != want:
            raise PydanticCustomError(
                "poles_letters",
                "poles must have exactly the letters {want}, got {got}",
                {"want": "/".join(self.mbti.split("/")), "got": "/".join(sorted(self.poles)) or "none"},
            )
        return self


class Day(BaseModel):
    model_config = _CONFIG

    day: int = Field(ge=1, le=5)
    title: I18nText
    time_of_day: I18nText
    theme: Text
    start: Slug
    states: list[State] = Field(min_length=1)

    def ordered_states(self) -> list[State]:
        """States in play order, following ``start`` through ``next`` (stops at a repeat or a dead link)."""
        by_id = {state.id: state for state in self.states}
        ordered: list[State] = []
        current = by_id.get(self.start)
        while current is not None and current not in ordered:
            ordered.append(current)
            current = by_id.get(current.next) if current.next is not None else None
        return ordered


class Scenario(BaseModel):
    model_config = _CONFIG

    id: Slug
    version: Text
    title: I18nText
    intro: I18nText
    house: House
    npcs: list[NPC] = Field(min_length=1)
    days: list[Day]

    @model_validator(mode="after")
    def _cross_references(self) -> Scenario:
        problems = cross_reference_problems(self)
        if problems:
            detail = "; ".join(f"{json_path(loc)}: {message}" for loc, message in problems)
            raise PydanticCustomError(
                CROSS_REFERENCE_ERROR, "{detail}", {"detail": detail, "problems": problems}
            )
        return self

    def npc(self, npc_id: str) -> NPC:
        for npc in self.npcs:
            if npc.id == npc_id:
                return npc
        raise KeyError(f"unknown NPC {npc_id!r}")

    def day(self, n: int) -> Day:
        for day in self.days:
            if day.day == n:
                return day
        raise KeyError(f"no day {n}")

    def state(self, state_id: str) -> State:
        for day in self.days:
            for state in day.states:
                if state.id == state_id:
                    return state
        raise KeyError(f"unknown state {state_id!r}")

    def day_of_state(self, state_id: str) -> int:
        for day in self.days:
            if any(state.id == state_id for state in day.states):
                return day.day
        raise KeyError(f"unknown state {state_id!r}")

    def ordered_states(self) -> list[tuple[int, State]]:
        return [(day.day, state) for day in self.days for state in day.ordered_states()]

    def content_hash(self) -> str:
        """Digest of what is played (lines, questions, checks, order); the simulated users' ``poles``
        are left out, so adding or rewording them does not orphan stored sessions."""
        played = self.model_dump(
            mode="json", exclude={"days": {"__all__": {"states": {"__all__": {"poles"}}}}}
        )
        canonical = json.dumps(played, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def cross_reference_problems(scenario: Scenario) -> list[Problem]:
    """Every whole-scenario rule the given (field-valid) scenario breaks, as ``(loc, message)``.

    The rules themselves run on JSON data (:func:`raw_cross_reference_problems`), so that
    :mod:`sharehouse.scenario.load` can apply them to a file whose fields are not all valid.
    """
    return raw_cross_reference_problems(scenario.model_dump(mode="json"))
