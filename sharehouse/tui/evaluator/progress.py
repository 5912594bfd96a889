"""How far an evaluation run in the TUI has got.

:class:`RunProgress` turns the runner's ``on_event`` calls into per method × model counts for the
progress table. The run itself is :func:`evaluator.runner.run_evaluation_async` on an
:class:`evaluator.request.RunRequest`; nothing here predicts or scores.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

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

    def apply(self, kind: str, data: Mapping[str, Any]) -> ComboProgress | None:
        """Count one runner event; returns the method × model it was about (None for ``finished`` and
        events about no method, such as ``model_loaded``)."""
        if kind == "finished":
            self.finished = True
            for c in self.combos.values():
                if c.state != DONE:
                    c.done = c.total
                    c.state = FAILED if c.state in (WAITING, RUNNING) else DONE
            return None
        combo = self.combos.get((str(data.get("method")), str(data.get("model"))))
        if combo is None:
            return None
        if combo.state == WAITING:
            combo.state = RUNNING
        if kind == "skipped":
            self._count(combo, self.sessions.get(str(data.get("session_id"))))
        elif kind == "predicted":
            combo.predicted += 1
            combo.cached += int(bool(data.get("cached_calls")))
            self._count(combo, str(data.get("user")))
        elif kind == "prediction_failed":
            combo.errors += 1
            combo.note = str(data.get("error", ""))
            self._count(combo, str(data.get("user")))
        elif kind == "user_failed":
            user = str(data.get("user"))
            combo.errors += 1
            combo.note = str(data.get("error", ""))
            self._count(combo, user, max(0, self.tests.get(user, 0) - combo.per_user.get(user, 0)))
        elif kind == "method_skipped":  # the method cannot run on this model (e.g. training on an API)
            combo.errors += 1
            combo.note = str(data.get("reason", ""))
            combo.done = combo.total
            combo.state = FAILED
        elif kind == "scored":
            combo.scored = int(data.get("predictions", 0))
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
