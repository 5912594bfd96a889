"""Pydantic models of a scenario file: the house, the housemates and five days of question states.

Field-level rules (types, non-empty translations, slugs, ranges) live on the fields. Rules that need
the whole scenario (ids that must exist, unique ids, day numbering, the ``start -> next`` chain of
each day, room layout) are computed by :func:`cross_reference_problems`; ``Scenario`` refuses to
validate when it finds any, and carries every problem with its location in the error context so
:mod:`sharehouse.scenario.load` can report each one with a precise JSON path.
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

Lang = Literal["en", "ja", "zh"]
LANGS: tuple[str, ...] = ("en", "ja", "zh")
MbtiDim = Literal["E/I", "S/N", "T/F", "J/P", "none"]
CheckKind = Literal["llm", "any", "min_chars"]

Loc = tuple[str | int, ...]
Problem = tuple[Loc, str]

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


def json_path(loc: Loc) -> str:
    """Render a pydantic location tuple as a JSON path: ``("days", 2, "npc")`` -> ``$.days[2].npc``."""
    parts = ["$"]
    for item in loc:
        if item == "[key]":  # pydantic marks errors in a dict key this way; the key itself precedes it
            continue
        if isinstance(item, int):
            parts.append(f"[{item}]")
        elif item.replace("_", "a").isalnum() and not item[:1].isdigit():
            parts.append(f".{item}")
        else:
            parts.append(f"[{json.dumps(item, ensure_ascii=False)}]")
    return "".join(parts)


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
    model_config = _CONFIG

    id: Slug
    npc: Slug
    intent: Text
    topic: I18nText
    opener: I18nText
    mbti: MbtiDim
    check: Check = Field(default_factory=Check)
    max_followups: int = Field(default=2, ge=0, le=5)
    next: str | None = None


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
        canonical = json.dumps(
            self.model_dump(mode="json"), sort_keys=True, ensure_ascii=False, separators=(",", ":")
        )
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def cross_reference_problems(scenario: Scenario) -> list[Problem]:
    """Every whole-scenario rule the given (field-valid) scenario breaks, as ``(loc, message)``."""
    problems: list[Problem] = []
    problems += _house_problems(scenario.house)
    problems += _npc_problems(scenario)
    problems += _day_problems(scenario)
    return problems


def _house_problems(house: House) -> list[Problem]:
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    for i, room in enumerate(house.rooms):
        loc: Loc = ("house", "rooms", i)
        if room.id in seen:
            problems.append(
                (loc + ("id",), f"duplicate room id {room.id!r} (first at {_rooms_path(seen[room.id])})")
            )
        else:
            seen[room.id] = i
        if room.x + room.w > house.width or room.y + room.h > house.height:
            problems.append((loc, f"room {room.id!r} does not fit in the {house.width}x{house.height} house"))
        for j, other in enumerate(house.rooms[:i]):
            if room.overlaps(other):
                problems.append((loc, f"room {room.id!r} overlaps room {other.id!r} at {_rooms_path(j)}"))
    if house.player_room not in seen:
        problems.append((("house", "player_room"), f"unknown room {house.player_room!r}"))
    return problems


def _rooms_path(i: int) -> str:
    return json_path(("house", "rooms", i))


def _npc_problems(scenario: Scenario) -> list[Problem]:
    problems: list[Problem] = []
    room_ids = {room.id for room in scenario.house.rooms}
    seen: dict[str, int] = {}
    for i, npc in enumerate(scenario.npcs):
        if npc.id in seen:
            first = json_path(("npcs", seen[npc.id], "id"))
            problems.append((("npcs", i, "id"), f"duplicate NPC id {npc.id!r} (first at {first})"))
        else:
            seen[npc.id] = i
        if npc.room not in room_ids:
            problems.append((("npcs", i, "room"), f"unknown room {npc.room!r}"))
    return problems


def _day_problems(scenario: Scenario) -> list[Problem]:
    problems: list[Problem] = []
    if len(scenario.days) != 5:
        problems.append((("days",), f"expected exactly 5 days, got {len(scenario.days)}"))
    for i, day in enumerate(scenario.days):
        if day.day != i + 1:
            problems.append((("days", i, "day"), f"expected day {i + 1} at this position, got day {day.day}"))

    npc_ids = {npc.id for npc in scenario.npcs}
    owner: dict[str, tuple[int, int]] = {}  # state id -> (day index, state index) of its first use
    for d, day in enumerate(scenario.days):
        for s, state in enumerate(day.states):
            loc: Loc = ("days", d, "states", s)
            if state.id in owner:
                first = json_path(("days", *_pair_loc(owner[state.id]), "id"))
                problems.append((loc + ("id",), f"duplicate state id {state.id!r} (first at {first})"))
            else:
                owner[state.id] = (d, s)
            if state.npc not in npc_ids:
                problems.append((loc + ("npc",), f"unknown NPC {state.npc!r}"))
            if state.check.kind == "llm" and not state.check.criterion.strip():
                problems.append(
                    (loc + ("check", "criterion"), "a check of kind 'llm' needs a non-empty criterion")
                )

    for d, day in enumerate(scenario.days):
        problems += _chain_problems(d, day, scenario, owner)
    return problems


def _pair_loc(pair: tuple[int, int]) -> Loc:
    return (pair[0], "states", pair[1])


def _chain_problems(d: int, day: Day, scenario: Scenario, owner: dict[str, tuple[int, int]]) -> list[Problem]:
    problems: list[Problem] = []
    index: dict[str, int] = {}
    for s, state in enumerate(day.states):
        index.setdefault(state.id, s)

    def elsewhere(state_id: str) -> str:
        if state_id in owner:
            return f"state {state_id!r} belongs to day {scenario.days[owner[state_id][0]].day}, not day {day.day}"
        return f"unknown state {state_id!r}"

    for s, state in enumerate(day.states):
        if state.next is not None and state.next not in index:
            problems.append(
                (("days", d, "states", s, "next"), f"unknown next state: {elsewhere(state.next)}")
            )

    if day.start not in index:
        problems.append((("days", d, "start"), f"unknown start state: {elsewhere(day.start)}"))
        return problems

    visited: set[int] = set()
    s = index[day.start]
    while True:
        visited.add(s)
        nxt = day.states[s].next
        if nxt is None or nxt not in index:
            break
        if index[nxt] in visited:
            problems.append(
                (
                    ("days", d, "states", s, "next"),
                    f"cycle: next state {nxt!r} was already visited in this day",
                )
            )
            break
        s = index[nxt]

    for s, state in enumerate(day.states):
        if s not in visited and index[state.id] == s:
            problems.append(
                (
                    ("days", d, "states", s, "id"),
                    f"state {state.id!r} is not reachable from start {day.start!r}",
                )
            )
    return problems
