"""The stand-alone evaluator app (``sharehouse report view``, ``sharehouse evaluate --tui``)."""

from __future__ import annotations

from collections.abc import Sequence

from textual.binding import Binding

from evaluator.methods.base import UserTask
from evaluator.request import RunRequest
from sharehouse.store import Store
from sharehouse.tui.evaluator.board import EvaluatorScreen
from sharehouse.tui.evaluator.navigation import EvaluatorNavigation
from sharehouse.tui.evaluator.setup import RunsScreen


class EvaluatorApp(EvaluatorNavigation):
    """The stand-alone evaluator: ``sharehouse report view`` (one run, or the list of runs) and
    ``sharehouse evaluate --tui`` (``request``: the run executes inside, on the evaluator screen)."""

    TITLE = "sharehouse evaluator"
    ENABLE_COMMAND_PALETTE = False
    BINDINGS = [Binding("ctrl+q", "quit", "Quit", priority=True)]

    def __init__(
        self,
        store: Store,
        run_id: str | None = None,
        *,
        request: RunRequest | None = None,
        tasks: Sequence[UserTask] | None = None,
    ) -> None:
        super().__init__()
        self.store, self.run_id, self.request, self.tasks = store, run_id, request, tasks

    def on_mount(self) -> None:
        if self.request is not None or self.run_id is not None:
            self.open_evaluator(
                EvaluatorScreen(self.store, self.run_id, request=self.request, tasks=self.tasks)
            )
        else:
            self.open_evaluator(RunsScreen(self.store))

    def leave_evaluator(self) -> None:
        """Back from the first screen: the stand-alone evaluator has nothing under it, so it quits."""
        self.exit()
