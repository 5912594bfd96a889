"""A session killed mid-day (SIGKILL) and resumed continues at the same state, with no turn lost
or duplicated."""

from __future__ import annotations

import random
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from sharehouse.engine.session import EngineParams, SessionRunner
from sharehouse.engine.users import ScriptedUser
from sharehouse.llm import GenParams
from sharehouse.store import Store
from sharehouse.store.integrity import check_integrity

PLAYER = textwrap.dedent(
    """
    import asyncio, sys
    from sharehouse.engine.session import EngineEvents, EngineParams, SessionRunner, start_session
    from sharehouse.engine.users import ScriptedUser
    from sharehouse.llm import GenParams, load_model
    from sharehouse.scenario import load_scenario
    from sharehouse.scenario.load import default_scenario_path
    from sharehouse.store import Store

    class Say(EngineEvents):
        def turn_committed(self, turn, check):
            print("committed", turn.day, turn.idx, turn.state_id, flush=True)

    async def main():
        sc = load_scenario(default_scenario_path())
        store = Store(sys.argv[1])
        rec = store.get_session("s-kill") or start_session(
            store, sc, kind="simulated", source="test", user_id="u", language="en", session_id="s-kill")
        runner = SessionRunner(store, sc, rec.id, npc_model=load_model("local:small"),
                               user=ScriptedUser(["We could share it fairly, one shelf each, labelled."]),
                               events=Say(), params=EngineParams(seed=0, npc=GenParams(max_tokens=48, temperature=0)))
        await runner.run()

    asyncio.run(main())
    """
)


@pytest.mark.model
def test_sigkill_mid_day_then_resume(tmp_path: Path, scenario, small_model) -> None:
    db = tmp_path / "kill.duckdb"
    script = tmp_path / "player.py"
    script.write_text(PLAYER)
    proc = subprocess.Popen([sys.executable, str(script), str(db)], stdout=subprocess.PIPE, text=True)
    commits = []
    assert proc.stdout is not None
    deadline = time.monotonic() + 600
    while len(commits) < 2 and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        if line.startswith("committed"):
            commits.append(line.split())
    assert len(commits) == 2, "the player process should commit two turns"
    time.sleep(random.Random(5).uniform(0.0, 1.5))  # inside the next model call (seeded: reproducible)
    proc.kill()
    proc.wait()

    store = Store(db)
    try:
        before = store.load_turns("s-kill")
        assert len(before) >= 2
        rec = store.get_session("s-kill")
        assert rec.status == "active"
        resume_state = rec.position_state
        pending = rec.pending_message
        runner = SessionRunner(
            store, scenario, "s-kill", npc_model=small_model,
            user=ScriptedUser(["Honestly I'd plan it all in a spreadsheet first."]),
            params=EngineParams(seed=0, npc=GenParams(max_tokens=48, temperature=0)),
        )  # fmt: skip
        assert runner.fsm.state == resume_state
        import asyncio

        turn = asyncio.run(runner.step())
        assert turn.state_id == resume_state
        if pending:
            assert turn.message == pending  # the line that was on screen is asked again, not a new one
        after = store.load_turns("s-kill")
        assert after[: len(before)] == before  # nothing lost or rewritten
        assert len(after) == len(before) + 1
        keys = [(t.day, t.idx) for t in after]
        assert len(keys) == len(set(keys))
        assert check_integrity(store) == []
    finally:
        store.close()
