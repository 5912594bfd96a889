"""The FSM built from the scenario: advance, follow-up, bound, resume."""

from __future__ import annotations

import pytest

from sharehouse.engine.machine import END, SessionMachine
from sharehouse.store import Position


def test_starts_at_first_state_of_day_one(scenario) -> None:
    m = SessionMachine(scenario)
    first_day, first = scenario.ordered_states()[0]
    assert (m.day, m.state, m.followups_used) == (first_day, first.id, 0)
    assert m.progress_in_day() == (0, len(scenario.day(1).states))


def test_advance_walks_every_state_in_order_across_days(scenario) -> None:
    m = SessionMachine(scenario)
    seen = []
    while not m.finished:
        seen.append((m.day, m.state))
        assert m.decide(True) == "advance"
    assert seen == [(d, s.id) for d, s in scenario.ordered_states()]
    assert m.state == END and m.position() == Position(day=None, state=None, followups_used=0)


def test_follow_up_is_bounded_then_forced(scenario) -> None:
    m = SessionMachine(scenario)
    state = m.state
    bound = m.current.max_followups
    for i in range(bound):
        assert m.decide(False) == "follow_up"
        assert m.state == state and m.followups_used == i + 1
    assert m.decide(False) == "forced"
    assert m.state != state and m.followups_used == 0


def test_resume_from_stored_position(scenario) -> None:
    day, st = scenario.ordered_states()[7]
    m = SessionMachine(scenario, Position(day=day, state=st.id, followups_used=1))
    assert (m.day, m.state, m.followups_used) == (day, st.id, 1)
    done = SessionMachine(scenario, Position(day=None, state=None))
    assert done.finished
    with pytest.raises(ValueError, match="not a state"):
        SessionMachine(scenario, Position(day=1, state="nope"))


def test_no_trigger_can_skip_a_state(scenario) -> None:
    m = SessionMachine(scenario)
    order = [s.id for _, s in scenario.ordered_states()]
    m.decide(True)
    assert m.state == order[1]  # exactly one step, whatever the reply said
    assert not hasattr(m, "to_end")  # auto transitions are off: no jumping to a state by name
