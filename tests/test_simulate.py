"""The batch simulator on the real local model: persona selection, sessions per run, resume."""

from __future__ import annotations

import pytest

from sharehouse.simulate import SimulateOptions, run_simulate, select_personas, session_id_for
from sharehouse.store.integrity import check_integrity


def test_selection_covers_languages_and_ids() -> None:
    chosen = select_personas(SimulateOptions(n_personas=6))
    assert len(chosen) == 6 and {p.language for p in chosen} == {"en", "ja", "zh"}
    assert [p.language for p in select_personas(SimulateOptions(n_personas=4, language="ja"))] == ["ja"] * 4
    one = select_personas(SimulateOptions(persona_ids=["p-zh-003"]))
    assert [p.id for p in one] == ["p-zh-003"]
    with pytest.raises(ValueError, match="unknown persona"):
        select_personas(SimulateOptions(persona_ids=["p-xx-999"]))


@pytest.mark.model
async def test_three_personas_one_day_then_idempotent_rerun(store, scenario, small_model) -> None:
    opts = SimulateOptions(
        n_personas=3, model="local:small", concurrency=3, days=1, run_id="t3", temperature=0.0
    )
    result = await run_simulate(store, opts, scenario=scenario, npc_model=small_model, user_model=small_model)
    assert result.stats.failed == 0
    sessions = store.list_sessions(run_id="t3")
    assert len(sessions) == 3 and {s.language for s in sessions} == {"en", "ja", "zh"}
    day1 = {s.id for s in scenario.day(1).states}
    counts = {}
    for s in sessions:
        assert s.id == session_id_for("t3", s.persona_id)
        turns = store.load_turns(s.id)
        assert {t.state_id for t in turns if t.verdict in ("advance", "forced")} == day1
        assert s.position_day == 2 and s.status == "active"
        counts[s.id] = len(turns)
    again = await run_simulate(store, opts, scenario=scenario, npc_model=small_model, user_model=small_model)
    assert again.stats.failed == 0
    assert {s.id: len(store.load_turns(s.id)) for s in store.list_sessions(run_id="t3")} == counts
    assert check_integrity(store) == []


@pytest.mark.slow
@pytest.mark.model
async def test_three_personas_five_days_complete(store, scenario, small_model) -> None:
    opts = SimulateOptions(n_personas=3, model="local:small", concurrency=3, run_id="t5", temperature=0.0)
    result = await run_simulate(store, opts, scenario=scenario, npc_model=small_model, user_model=small_model)
    assert result.stats.failed == 0
    sessions = store.list_sessions(run_id="t5")
    assert len(sessions) == 3 and all(s.status == "complete" for s in sessions)
    assert check_integrity(store) == []
