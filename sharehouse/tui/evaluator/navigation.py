"""How an app hosts the evaluator: it handles the screens' :mod:`~sharehouse.tui.evaluator.messages`.

Both the game (``F6``) and the stand-alone :class:`~sharehouse.tui.evaluator.app.EvaluatorApp` mix
in :class:`EvaluatorNavigation`. The evaluator runs in its own mode (:data:`~sharehouse.tui.names.EVALUATOR`,
a stack of screens of its own) whose first screen is the list of runs (:data:`~sharehouse.tui.names.RUNS`),
or the run the stand-alone app was asked to show. :class:`~sharehouse.tui.evaluator.messages.Back`
from that first screen calls the app's :meth:`~EvaluatorNavigation.leave_evaluator` (the game goes
back to its own mode, where the player was; the stand-alone app exits).
"""

from __future__ import annotations

from typing import Any, ClassVar

from textual.app import App
from textual.screen import Screen

from sharehouse.store import Store
from sharehouse.tui.evaluator.board import EvaluatorScreen
from sharehouse.tui.evaluator.drill import DrillScreen
from sharehouse.tui.evaluator.messages import Back, NewRun, OpenDrill, OpenRun, ShowRuns
from sharehouse.tui.evaluator.setup import RunSetupScreen, RunsScreen
from sharehouse.tui.names import EVALUATOR, GAME, RUNS


class EvaluatorNavigation(App[None]):
    """Opens the evaluator's screens as they ask (a base for the apps that host the evaluator)."""

    SCREENS: ClassVar[dict[str, Any]] = {RUNS: RunsScreen}

    store: Store

    def __init__(self) -> None:
        super().__init__()
        self.add_mode(EVALUATOR, self.evaluator_start)

    def evaluator_start(self) -> Screen[Any]:
        """The first screen of the evaluator's mode: the list of runs."""
        return self.get_screen(RUNS)

    @property
    def in_evaluator(self) -> bool:
        return self.current_mode == EVALUATOR

    def open_evaluator(self) -> None:
        """Show the evaluator's mode (on its first screen when it was not open)."""
        self.switch_mode(EVALUATOR)

    def leave_evaluator(self) -> None:
        """Back from the evaluator's first screen: to the game's mode, where the player was (the
        evaluator opens afresh next time), in an app that has one; the stand-alone evaluator has
        nothing under it, so it quits."""
        if GAME in self.MODES:
            self.switch_mode(GAME)
            self.close_evaluator()
        else:
            self.exit()

    def close_evaluator(self) -> None:
        """Drop the evaluator's screens (a run executing on one stops), so that it opens afresh on
        its first screen; it must not be the current mode."""
        self.remove_mode(EVALUATOR)
        self.add_mode(EVALUATOR, self.evaluator_start)

    def on_open_run(self, message: OpenRun) -> None:
        screen = EvaluatorScreen(self.store, message.run_id, request=message.request, tasks=message.tasks)
        if message.replace:
            self.switch_screen(screen)
        else:
            self.push_screen(screen)

    def on_show_runs(self, _: ShowRuns) -> None:
        runs = self.get_screen(RUNS)
        if runs in self.screen_stack:  # the list is under the asking screen: back to it
            runs.pop_until_active()
        else:
            self.push_screen(RUNS)

    def on_new_run(self, message: NewRun) -> None:
        self.push_screen(RunSetupScreen(self.store, message.prefill))

    def on_open_drill(self, message: OpenDrill) -> None:
        self.push_screen(
            DrillScreen(self.store, message.run_id, message.language, focus_method=message.focus_method)
        )

    def on_back(self, _: Back) -> None:
        if self.screen is self.get_screen_stack(EVALUATOR)[0]:
            self.leave_evaluator()
        else:
            self.pop_screen()
