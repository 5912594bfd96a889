"""How close each housemate feels to the player: a simple, deterministic rule over the turns.

Every housemate starts at :data:`START`. A question the player answered brings them one step
closer; a reply that needed a follow-up costs a step; a question left after the follow-ups ran
out changes nothing. Levels stay between 0 and :data:`MAX_LEVEL`.
"""

from __future__ import annotations

from collections.abc import Iterable

from sharehouse.scenario import Scenario
from sharehouse.store import TurnRecord

START = 1
MAX_LEVEL = 5
STEP = {"advance": 1, "follow_up": -1, "forced": 0, "imported": 0}


def npc_of_turn(scenario: Scenario, turn: TurnRecord) -> str | None:
    """The housemate id that spoke in a turn (by its state, else by its name in any language)."""
    if turn.state_id:
        try:
            return scenario.state(turn.state_id).npc
        except KeyError:
            pass
    for npc in scenario.npcs:
        if turn.npc in (npc.name.en, npc.name.ja, npc.name.zh):
            return npc.id
    return None


def closeness_levels(scenario: Scenario, turns: Iterable[TurnRecord]) -> dict[str, int]:
    levels = {npc.id: START for npc in scenario.npcs}
    for turn in turns:
        npc_id = npc_of_turn(scenario, turn)
        if npc_id is None:
            continue
        step = STEP.get(turn.verdict or "", 0)
        levels[npc_id] = max(0, min(MAX_LEVEL, levels[npc_id] + step))
    return levels


def hearts(level: int) -> str:
    return "♥" * level + "♡" * (MAX_LEVEL - level)
