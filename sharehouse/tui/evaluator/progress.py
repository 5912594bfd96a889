"""How far an evaluation run in the TUI has got.

`RunProgress` counts the runner's events (:mod:`evaluator.events`) as per method × model counts for the
progress table. The run itself is :func:`evaluator.runner.run_evaluation_async` on an
:class:`evaluator.request.RunRequest`; nothing here predicts or scores.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from evaluator.events import (
    EvalEvent,
    MethodSkipped,
    ModelLoaded,
    Predicted,
    PredictionFailed,
    RunFinished,
    Scored,
    Skipped,
    UserFailed,
)
from evaluator.methods.base import UserTask

# -- progress ------------------------------------------------------------------------------

WAITING, RUNNING, SCORING, DONE, FAILED, CANCELLED = (
    "waiting",
    "running",
    "scoring…",
    "done",
    "failed",
    "cancelled",
)


@dataclass
class ComboProgress:
    """One method × model: how many of its day-5 turns are stored, failed or still to do."""

    method: str
    model: str
    total: int
    done: int = 0
    predicted: int = 0  # predicted in this session (the rest of ``done`` was stored already)
    cached: int = 0  # predictions answered from the LLM call cache
    errors: int = 0
    scored: int | None = None
    state: str = WAITING
    note: str = ""
    per_user: dict[str, int] = field(default_factory=dict)

    @property
    def finished(self) -> bool:
        return self.state in (DONE, FAILED)


class RunProgress:
    """Per method × model counts, fed by the runner's events (:meth:`apply`)."""

    def __init__(
        self, tasks: Sequence[UserTask], methods: Sequence[str], models: Sequence[str], seeds: int = 1
    ) -> None:
        self.tests = {t.user_id: len(t.tests) * seeds for t in tasks}
        self.sessions = {t.session_id: t.user_id for t in tasks}
        total = sum(self.tests.values())
        # the runner's order: every method of the first model, then the next model
        self.combos: dict[tuple[str, str], ComboProgress] = {
            (method, model): ComboProgress(method, model, total) for model in models for method in methods
        }
        self.finished = False
        self.error: str | None = None

    def ordered(self) -> list[ComboProgress]:
        return list(self.combos.values())

    @property
    def done(self) -> int:
        return sum(c.done for c in self.combos.values())

    @property
    def total(self) -> int:
        return sum(c.total for c in self.combos.values())

    def _count(self, combo: ComboProgress, user: str | None, n: int = 1) -> None:
        combo.done = min(combo.total, combo.done + n)
        if user is not None:
            combo.per_user[user] = combo.per_user.get(user, 0) + n
        if combo.state in (WAITING, RUNNING) and combo.done >= combo.total:
            combo.state = SCORING

    def started(self) -> None:
        """The run (re)starts: unfinished combos wait again, counts restart from the store's."""
        self.finished, self.error = False, None
        for c in self.combos.values():
            c.done = c.predicted = c.cached = c.errors = 0
            c.per_user.clear()
            c.state, c.note, c.scored = WAITING, "", None

    def apply(self, event: EvalEvent) -> ComboProgress | None:
        """Count one runner event; returns the method × model it was about (None for
        :class:`RunFinished` and events about no method, such as :class:`ModelLoaded`)."""
        if isinstance(event, RunFinished):
            self.finished = True
            for c in self.combos.values():
                if c.state != DONE:
                    c.done = c.total
                    c.state = FAILED if c.state in (WAITING, RUNNING) else DONE
            return None
        method, model = getattr(event, "method", None), getattr(event, "model", None)
        combo = self.combos.get((str(method), str(model)))
        if combo is None or isinstance(event, ModelLoaded):
            return None
        if combo.state == WAITING:
            combo.state = RUNNING
        match event:
            case Skipped(session_id=session_id):
                self._count(combo, self.sessions.get(session_id))
            case Predicted(user=user, cached_calls=cached):
                combo.predicted += 1
                combo.cached += int(bool(cached))
                self._count(combo, user)
            case PredictionFailed(user=user, error=error):
                combo.errors += 1
                combo.note = error
                self._count(combo, user)
            case UserFailed(user=user, error=error):
                combo.errors += 1
                combo.note = error
                self._count(combo, user, max(0, self.tests.get(user, 0) - combo.per_user.get(user, 0)))
            case MethodSkipped(
                reason=reason
            ):  # the method cannot run on this model (e.g. training on an API)
                combo.errors += 1
                combo.note = reason
                combo.done = combo.total
                combo.state = FAILED
            case Scored(predictions=n):
                combo.scored = n
                combo.done = combo.total
                combo.state = DONE
        return combo

    def current(self) -> ComboProgress | None:
        """The method × model the runner is working on (the first one not yet finished)."""
        return next((c for c in self.combos.values() if not c.finished), None)

    def cancel(self) -> None:
        for c in self.combos.values():
            if not c.finished:
                c.state = CANCELLED

    def fail(self, error: str) -> None:
        self.error = error
        for c in self.combos.values():
            if not c.finished:
                c.state, c.note = FAILED, error
