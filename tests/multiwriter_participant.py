"""One participant's game process for ``test_store_multiwriter`` (run as a script).

``python multiwriter_participant.py DB new USER_ID DAYS [HOLD_AFTER]`` starts a session and plays
its first DAYS days; ``... DB resume SESSION_ID DAYS`` continues a stored one (DAYS 0: to the end of
the game). With HOLD_AFTER, the process stops after committing that many turns and waits to be
killed (so a participant the test kills cannot finish first). The store is opened shared, as the
games of ``sharehouse serve`` open it, and the turns are played by the engine's
:class:`SessionRunner`, so every write is the engine's own (``set_pending``, ``log_llm_call``,
``append_turn`` with the new position). The housemate is a fixed line and the judge is down (the
check falls back to its rules): the models are not what is tested here, and ten model clients
would not fit the machine. Each committed turn is printed as a JSON line and flushed before the
next turn starts.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from typing import Any

from fakes import DownJudge

from sharehouse.engine.checks import CheckResult
from sharehouse.engine.session import EngineEvents, SessionRunner, start_session
from sharehouse.engine.users import ScriptedUser
from sharehouse.llm import Completion, GenParams
from sharehouse.scenario import load_scenario
from sharehouse.scenario.load import default_scenario_path
from sharehouse.store import Store, TurnRecord

REPLIES = [
    "I would buy a small flat by the sea and keep working part time.",
    "Honestly I plan everything in a notebook before I start.",
    "A shared calendar on the fridge would help all of us.",
    "I'd ask everyone calmly at dinner, nobody needs to feel accused.",
]


def say(kind: str, **data: Any) -> None:
    print(json.dumps({"kind": kind, **data}), flush=True)


class FixedHousemate:
    """A housemate model that always says the same friendly line."""

    name = "fixed:housemate"

    async def complete(self, messages: list[Any], params: GenParams) -> Completion:
        return Completion(text="Oh nice, that sounds good to me!", model=self.name, prompt_tokens=9)

    def close(self) -> None: ...


HOLD_S = 300.0  # a held process not killed by then ends with an error


class Report(EngineEvents):
    def __init__(self, hold_after: int = 0) -> None:
        self.hold_after = hold_after
        self.committed = 0

    def turn_committed(self, turn: TurnRecord, check: CheckResult) -> None:
        say("turn", session=turn.session_id, day=turn.day, idx=turn.idx)
        self.committed += 1
        if self.committed == self.hold_after:
            # The turn's transaction is over and the shared store holds nothing: the other
            # participants go on while this one waits for its kill.
            say("held", session=turn.session_id)
            time.sleep(HOLD_S)
            os._exit(3)


async def play(db: str, mode: str, who: str, days: int, hold_after: int = 0) -> None:
    scenario = load_scenario(default_scenario_path())
    store = Store(db, shared=True)
    if mode == "new":
        session_id = start_session(
            store, scenario, kind="human", source="multiwriter", user_id=who, language="en"
        ).id
    else:
        session_id = who
    say("session", session=session_id)
    runner = SessionRunner(
        store,
        scenario,
        session_id,
        npc_model=FixedHousemate(),
        user=ScriptedUser(REPLIES),
        check_model=DownJudge(),
        events=Report(hold_after),
    )
    while not runner.finished and not (days and (runner.fsm.day or 0) > days):
        await runner.run(until_day_end=True)
    done = store.get_session(session_id)
    assert done is not None
    say("done", session=session_id, status=done.status, turns=len(runner.turns))


if __name__ == "__main__":
    hold = int(sys.argv[5]) if len(sys.argv) > 5 else 0
    asyncio.run(play(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), hold))
