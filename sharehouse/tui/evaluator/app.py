"""The stand-alone evaluator app (``sharehouse report view``, ``sharehouse evaluate --tui``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from textual.binding import Binding
from textual.screen import Screen

from evaluator.methods.base import UserTask
from evaluator.request import RunRequest
from sharehouse.store import Store
from sharehouse.tui.evaluator.board import EvaluatorScreen
from sharehouse.tui.evaluator.navigation import EvaluatorNavigation
from sharehouse.tui.names import EVALUATOR


class EvaluatorApp(EvaluatorNavigation):
    """The stand-alone evaluator: ``sharehouse report view`` (one run, or the list of runs) and
    ``sharehouse evaluate --tui`` (``request``: the run executes inside, on the evaluator screen).
    It starts in the evaluator's mode."""

    TITLE = "sharehouse evaluator"
    ENABLE_COMMAND_PALETTE = False
    BINDINGS = [Binding("ctrl+q", "quit", "Quit", priority=True)]
    DEFAULT_MODE = EVALUATOR

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

    def evaluator_start(self) -> Screen[Any]:
        """The run asked for (executing it, with ``request``), else the list of runs."""
        if self.request is not None or self.run_id is not None:
            return EvaluatorScreen(self.store, self.run_id, request=self.request, tasks=self.tasks)
        return super().evaluator_start()
