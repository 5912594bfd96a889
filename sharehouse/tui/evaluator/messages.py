"""What the evaluator screens ask of the app they run in. Screens post these; the app's
:class:`~sharehouse.tui.evaluator.navigation.EvaluatorNavigation` opens the screen asked for, so no
screen imports another screen or knows which app hosts it."""

from __future__ import annotations

from collections.abc import Sequence

from textual.message import Message

from evaluator.methods.base import UserTask
from evaluator.request import RunRequest

READ_ONLY_NOTE = "This database is open read-only: start or resume runs with `sharehouse evaluate --tui`."


class OpenRun(Message):
    """Show run ``run_id`` on the leaderboard; with ``request`` (and ``tasks``) the run executes
    there. ``replace``: the asking screen gives way (the setup form that started the run)."""

    def __init__(
        self,
        run_id: str | None,
        *,
        request: RunRequest | None = None,
        tasks: Sequence[UserTask] | None = None,
        replace: bool = False,
    ) -> None:
        super().__init__()
        self.run_id, self.request, self.tasks, self.replace = run_id, request, tasks, replace


class ShowRuns(Message):
    """Show the list of evaluation runs."""


class NewRun(Message):
    """Open the run-setup form, filled in from ``prefill`` when given."""

    def __init__(self, prefill: RunRequest | None = None) -> None:
        super().__init__()
        self.prefill = prefill


class OpenDrill(Message):
    """Show one language's users of run ``run_id``, with ``focus_method``'s predictions in bold."""

    def __init__(self, run_id: str, language: str, focus_method: str | None = None) -> None:
        super().__init__()
        self.run_id, self.language, self.focus_method = run_id, language, focus_method


class Back(Message):
    """Leave the asking screen: back to the evaluator screen below it, or out of the evaluator
    when it is the first (the app decides what out means: the game, or quitting)."""
