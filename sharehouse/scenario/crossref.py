"""Whole-scenario rules, checked on the raw JSON data so they are reported together with field errors.

Field rules (types, patterns, ranges) are pydantic's job (:mod:`sharehouse.scenario.models`); the
rules here need the whole file: ids that must exist, unique ids, day numbering, the ``start -> next``
chain of each day, every declared housemate speaking somewhere, the room layout. They run on the
parsed JSON as it is, whatever pydantic thinks of its fields, so one pass reports everything.

Values with a wrong type are skipped (pydantic reports them). Where a broken value makes a rule
undecidable, the rule is not applied rather than guessed: a reference is only called unknown when
every id it could refer to is a valid id, and a day's reachability is only judged when all of its
state ids and links are well formed.
"""

from __future__ import annotations

import json
import re
from typing import Any

Loc = tuple[str | int, ...]
Problem = tuple[Loc, str]

_SLUG = re.compile(r"^[a-z][a-z0-9_]*$")
_DAYS = 5


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


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_slug(value: Any) -> bool:
    return isinstance(value, str) and bool(_SLUG.match(value))


def _dicts(value: Any) -> list[tuple[int, dict[str, Any]]]:
    """The ``(index, item)`` pairs of a list that are objects (other items are pydantic's to report)."""
    if not isinstance(value, list):
        return []
    return [(i, item) for i, item in enumerate(value) if isinstance(item, dict)]


def _all_ids_valid(value: Any) -> bool:
    """True when ``value`` is a list of objects that all have a valid slug ``id``."""
    return isinstance(value, list) and all(isinstance(x, dict) and _is_slug(x.get("id")) for x in value)


def raw_cross_reference_problems(data: Any) -> list[Problem]:
    """Every whole-scenario rule the parsed JSON ``data`` breaks, as ``(loc, message)`` pairs."""
    if not isinstance(data, dict):
        return []
    house = data.get("house")
    house = house if isinstance(house, dict) else {}
    problems: list[Problem] = []
    problems += _house_problems(house)
    problems += _npc_problems(data, house)
    problems += _day_problems(data)
    return problems


# -- house ----------------------------------------------------------------------------------------
def _geometry(room: dict[str, Any]) -> tuple[int, int, int, int] | None:
    x, y, w, h = (room.get(k) for k in ("x", "y", "w", "h"))
    if all(_is_int(v) for v in (x, y, w, h)) and x >= 0 and y >= 0 and w >= 1 and h >= 1:  # type: ignore[operator]
        return x, y, w, h  # type: ignore[return-value]
    return None


def _overlap(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> bool:
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


def _rooms_path(i: int) -> str:
    return json_path(("house", "rooms", i))


def _house_problems(house: dict[str, Any]) -> list[Problem]:
    problems: list[Problem] = []
    rooms = _dicts(house.get("rooms"))
    width, height = house.get("width"), house.get("height")
    sized = _is_int(width) and _is_int(height)
    seen: dict[str, int] = {}
    placed: list[tuple[int, str, tuple[int, int, int, int]]] = []
    for i, room in rooms:
        loc: Loc = ("house", "rooms", i)
        rid = room.get("id")
        name = rid if isinstance(rid, str) else f"#{i}"
        if isinstance(rid, str):
            if rid in seen:
                problems.append(
                    (loc + ("id",), f"duplicate room id {rid!r} (first at {_rooms_path(seen[rid])})")
                )
            else:
                seen[rid] = i
        geo = _geometry(room)
        if geo is None:
            continue
        if sized and (geo[0] + geo[2] > width or geo[1] + geo[3] > height):  # type: ignore[operator]
            problems.append((loc, f"room {name!r} does not fit in the {width}x{height} house"))
        for j, other_name, other in placed:
            if _overlap(geo, other):
                problems.append((loc, f"room {name!r} overlaps room {other_name!r} at {_rooms_path(j)}"))
        placed.append((i, name, geo))
    player_room = house.get("player_room")
    if _is_slug(player_room) and _all_ids_valid(house.get("rooms")) and player_room not in seen:
        problems.append((("house", "player_room"), f"unknown room {player_room!r}"))
    return problems


# -- housemates -----------------------------------------------------------------------------------
def _states(data: dict[str, Any]) -> list[tuple[int, int, dict[str, Any]]]:
    """``(day index, state index, state)`` of every state object in the file."""
    return [(d, s, state) for d, day in _dicts(data.get("days")) for s, state in _dicts(day.get("states"))]


def _npc_problems(data: dict[str, Any], house: dict[str, Any]) -> list[Problem]:
    problems: list[Problem] = []
    rooms_known = _all_ids_valid(house.get("rooms"))
    room_ids = {room["id"] for _, room in _dicts(house.get("rooms")) if isinstance(room.get("id"), str)}
    seen: dict[str, int] = {}
    for i, npc in _dicts(data.get("npcs")):
        nid = npc.get("id")
        if isinstance(nid, str):
            if nid in seen:
                first = json_path(("npcs", seen[nid], "id"))
                problems.append((("npcs", i, "id"), f"duplicate NPC id {nid!r} (first at {first})"))
            else:
                seen[nid] = i
        room = npc.get("room")
        if rooms_known and _is_slug(room) and room not in room_ids:
            problems.append((("npcs", i, "room"), f"unknown room {room!r}"))
    # Every declared housemate speaks somewhere (judged only when every state names a valid NPC id).
    states = _states(data)
    days_ok = isinstance(data.get("days"), list) and all(
        isinstance(day, dict)
        and isinstance(day.get("states"), list)
        and all(isinstance(s, dict) for s in day["states"])
        for day in data["days"]
    )
    if days_ok and states and all(_is_slug(state.get("npc")) for _, _, state in states):
        speaking = {state["npc"] for _, _, state in states}
        for nid, i in seen.items():
            if nid not in speaking:
                problems.append((("npcs", i, "id"), f"NPC {nid!r} is declared but speaks in no state"))
    return problems


# -- days and their state chains ------------------------------------------------------------------
def _day_problems(data: dict[str, Any]) -> list[Problem]:
    problems: list[Problem] = []
    days = data.get("days")
    if not isinstance(days, list):
        return problems
    if len(days) != _DAYS:
        problems.append((("days",), f"expected exactly {_DAYS} days, got {len(days)}"))
    for i, day in _dicts(days):
        number = day.get("day")
        if _is_int(number) and number != i + 1:
            problems.append((("days", i, "day"), f"expected day {i + 1} at this position, got day {number}"))

    npcs_known = _all_ids_valid(data.get("npcs"))
    npc_ids = {npc["id"] for _, npc in _dicts(data.get("npcs")) if isinstance(npc.get("id"), str)}
    states = _states(data)
    states_known = all(_is_slug(state.get("id")) for _, _, state in states) and all(
        isinstance(day.get("states"), list) and all(isinstance(s, dict) for s in day["states"])
        for _, day in _dicts(days)
    )
    owner: dict[str, tuple[int, int]] = {}  # state id -> (day index, state index) of its first use
    for d, s, state in states:
        loc: Loc = ("days", d, "states", s)
        sid = state.get("id")
        if isinstance(sid, str):
            if sid in owner:
                first = json_path(("days", *_pair_loc(owner[sid]), "id"))
                problems.append((loc + ("id",), f"duplicate state id {sid!r} (first at {first})"))
            else:
                owner[sid] = (d, s)
        npc = state.get("npc")
        if npcs_known and _is_slug(npc) and npc not in npc_ids:
            problems.append((loc + ("npc",), f"unknown NPC {npc!r}"))
        problem = _criterion_problem(state.get("check", {}))
        if problem is not None:
            problems.append((loc + ("check", "criterion"), problem))

    for d, day in _dicts(days):
        problems += _chain_problems(d, day, days, owner, states_known)
    return problems


def _criterion_problem(check: Any) -> str | None:
    """A check of kind "llm" (the default) needs a criterion (missing checks take the default)."""
    if not isinstance(check, dict):
        return None
    kind = check.get("kind", "llm")
    criterion = check.get("criterion", "")
    if kind == "llm" and isinstance(criterion, str) and not criterion.strip():
        return "a check of kind 'llm' needs a non-empty criterion"
    return None


def _pair_loc(pair: tuple[int, int]) -> Loc:
    return (pair[0], "states", pair[1])


def _day_label(days: list[Any], d: int) -> str:
    day = days[d]
    number = day.get("day") if isinstance(day, dict) else None
    return str(number) if _is_int(number) else f"#{d + 1}"


def _chain_problems(
    d: int,
    day: dict[str, Any],
    days: list[Any],
    owner: dict[str, tuple[int, int]],
    states_known: bool,
) -> list[Problem]:
    problems: list[Problem] = []
    states = day.get("states")
    if not isinstance(states, list):
        return problems
    index: dict[str, int] = {}
    for s, state in _dicts(states):
        if isinstance(state.get("id"), str):
            index.setdefault(state["id"], s)

    def elsewhere(state_id: str) -> str:
        if state_id in owner:
            return f"state {state_id!r} belongs to day {_day_label(days, owner[state_id][0])}, not day {_day_label(days, d)}"
        return f"unknown state {state_id!r}"

    links_ok = True
    for s, state in _dicts(states):
        nxt = state.get("next")
        if nxt is not None and not isinstance(nxt, str):
            links_ok = False
        elif isinstance(nxt, str) and nxt not in index and (states_known or nxt in owner):
            problems.append((("days", d, "states", s, "next"), f"unknown next state: {elsewhere(nxt)}"))

    start = day.get("start")
    if not isinstance(start, str):
        return problems
    if start not in index:
        if states_known or start in owner:
            problems.append((("days", d, "start"), f"unknown start state: {elsewhere(start)}"))
        return problems

    visited: set[int] = set()
    s = index[start]
    while True:
        visited.add(s)
        nxt = states[s].get("next")
        if not isinstance(nxt, str) or nxt not in index:
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

    if not (states_known and links_ok):
        return problems  # a broken id or link: what is reachable cannot be told
    for s, state in _dicts(states):
        if s not in visited and index[state["id"]] == s:
            problems.append(
                (
                    ("days", d, "states", s, "id"),
                    f"state {state['id']!r} is not reachable from start {start!r}",
                )
            )
    return problems
