"""How an app hosts the evaluator: it handles the screens' :mod:`~sharehouse.tui.evaluator.messages`.

Both the game (``F6``) and the stand-alone :class:`~sharehouse.tui.evaluator.app.EvaluatorApp` mix
in :class:`EvaluatorNavigation`. Where the evaluator starts is explicit: :meth:`open_evaluator`
remembers the screen it was opened over, and :class:`~sharehouse.tui.evaluator.messages.Back` from
the evaluator's first screen calls the app's :meth:`leave_evaluator` (the game pops back to where
the player was; the stand-alone app exits).
"""

from __future__ import annotations

from textual.app import App
from textual.screen import Screen

from sharehouse.store import Store
from sharehouse.tui.evaluator.board import EvaluatorScreen
from sharehouse.tui.evaluator.drill import DrillScreen
from sharehouse.tui.evaluator.messages import Back, NewRun, OpenDrill, OpenRun, ShowRuns
from sharehouse.tui.evaluator.setup import RunSetupScreen, RunsScreen

EVALUATOR_SCREENS = (RunsScreen, RunSetupScreen, EvaluatorScreen, DrillScreen)


class EvaluatorNavigation(App[None]):
    """Opens the evaluator's screens as they ask (a base for the apps that host the evaluator)."""

    store: Store
    _evaluator_base: int | None = None  # screens below the evaluator's first one

    @property
    def in_evaluator(self) -> bool:
        return self._evaluator_base is not None and isinstance(self.screen, EVALUATOR_SCREENS)

    def open_evaluator(self, first: Screen[None]) -> None:
        """Enter the evaluator on ``first`` (over whatever is shown now)."""
        self._evaluator_base = len(self.screen_stack)
        self.push_screen(first)

    def leave_evaluator(self) -> None:
        """Back from the evaluator's first screen: pop every evaluator screen (the host may override)."""
        while isinstance(self.screen, EVALUATOR_SCREENS) and len(self.screen_stack) > (
            self._evaluator_base or 1
        ):
            self.pop_screen()
        self._evaluator_base = None

    def on_open_run(self, message: OpenRun) -> None:
        screen = EvaluatorScreen(self.store, message.run_id, request=message.request, tasks=message.tasks)
        if message.replace:
            self.switch_screen(screen)
        else:
            self.push_screen(screen)

    def on_show_runs(self, _: ShowRuns) -> None:
        self.push_screen(RunsScreen(self.store))

    def on_new_run(self, message: NewRun) -> None:
        self.push_screen(RunSetupScreen(self.store, message.prefill))

    def on_open_drill(self, message: OpenDrill) -> None:
        self.push_screen(
            DrillScreen(self.store, message.run_id, message.language, focus_method=message.focus_method)
        )

    def on_back(self, _: Back) -> None:
        if len(self.screen_stack) > (self._evaluator_base or 1) + 1:
            self.pop_screen()
        else:
            self.leave_evaluator()
