"""The scenario as a `transitions` state machine: one machine per session.

States are the scenario's question states in play order plus ``end``. Two triggers:
``advance`` (to the next question, across day boundaries) and ``follow_up`` (stay, bounded by the
state's ``max_followups``). Callbacks only count follow-ups: no LLM is ever called from here.
"""

from __future__ import annotations

from typing import Literal

from transitions import Machine

from sharehouse.scenario import Scenario, State
from sharehouse.store.records import Position

END = "end"
Decision = Literal["advance", "follow_up", "forced"]


class SessionMachine:
    """The FSM model object: ``state`` is the id of the question being asked (or ``end``)."""

    state: str

    def __init__(self, scenario: Scenario, position: Position | None = None) -> None:
        self.scenario = scenario
        order = scenario.ordered_states()
        if not order:
            raise ValueError("scenario has no states")
        self._order = [s.id for _, s in order]
        self._day_of = {s.id: d for d, s in order}
        self._states = {s.id: s for _, s in order}
        initial = self._order[0]
        self.followups_used = 0
        if position is not None:
            if position.state is None:
                initial = END
            elif position.state not in self._states:
                raise ValueError(
                    f"stored position {position.state!r} is not a state of scenario {scenario.id!r}"
                )
            else:
                initial = position.state
                self.followups_used = position.followups_used
        self.machine = Machine(
            model=self,
            states=[*self._order, END],
            initial=initial,
            auto_transitions=False,
            ignore_invalid_triggers=False,
        )
        for i, sid in enumerate(self._order):
            dest = self._order[i + 1] if i + 1 < len(self._order) else END
            self.machine.add_transition("advance", sid, dest, after="_reset_followups")
            self.machine.add_transition(
                "follow_up", sid, None, conditions="_can_follow_up", after="_count_followup"
            )

    # -- callbacks (bookkeeping only) -------------------------------------------------------
    def _reset_followups(self) -> None:
        self.followups_used = 0

    def _can_follow_up(self) -> bool:
        return self.followups_used < self.current.max_followups

    def _count_followup(self) -> None:
        self.followups_used += 1

    # -- queries ----------------------------------------------------------------------------
    @property
    def finished(self) -> bool:
        return self.state == END

    @property
    def current(self) -> State:
        if self.finished:
            raise RuntimeError("the session is over")
        return self._states[self.state]

    @property
    def day(self) -> int | None:
        return None if self.finished else self._day_of[self.state]

    def position(self) -> Position:
        if self.finished:
            return Position(day=None, state=None, followups_used=0)
        return Position(day=self.day, state=self.state, followups_used=self.followups_used)

    def states_of_day(self, day: int) -> list[str]:
        return [s for s in self._order if self._day_of[s] == day]

    def progress_in_day(self) -> tuple[int, int]:
        """(index of the current state within its day, number of states that day)."""
        if self.finished:
            return (0, 0)
        ids = self.states_of_day(self._day_of[self.state])
        return ids.index(self.state), len(ids)

    # -- the decision -----------------------------------------------------------------------
    def decide(self, answered: bool) -> Decision:
        """Move on an answered question; otherwise follow up while the bound allows, then move on."""
        if answered:
            self.trigger("advance")
            return "advance"
        if self.trigger("follow_up"):
            return "follow_up"
        self.trigger("advance")
        return "forced"
