"""What an evaluation run in the TUI is asked to do, and how far it has got.

:class:`RunRequest` holds the data selection (the ``sharehouse evaluate`` options: source,
languages, users, limits), the methods, models and parameters; it builds the tasks with
:func:`evaluator.task.build_tasks` and rebuilds an unfinished run's request from its stored
config (the exact sessions it evaluated) so that the run can be resumed. :class:`RunProgress`
turns the runner's ``on_event`` calls into per method × model counts for the progress table.
The run itself is :func:`evaluator.runner.run_evaluation_async`; nothing here predicts or scores.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from evaluator.methods.base import UserTask
from evaluator.protocols import DEFAULT_PROTOCOL, PROTOCOLS
from evaluator.runner import EvalParams
from evaluator.task import SkippedUser, build_tasks, normalize_languages, task_from_turns
from sharehouse.store import Store

DEFAULT_METHODS: tuple[str, ...] = PROTOCOLS[DEFAULT_PROTOCOL].default_methods
DEFAULT_TUI_MODEL = "local:small"


class RunRequest(BaseModel):
    """One evaluation run as the setup screen (or ``evaluate --tui``) describes it."""

    model_config = ConfigDict(extra="forbid")

    source: str = "yntp100"
    languages: list[str] | None = None  # None: every language
    users: list[str] | None = None  # None: every user
    limit_users: int | None = Field(default=None, ge=1)
    limit_turns: int | None = Field(default=None, ge=1)
    methods: list[str] = Field(default_factory=lambda: list(DEFAULT_METHODS), min_length=1)
    models: list[str] = Field(default_factory=lambda: [DEFAULT_TUI_MODEL], min_length=1)
    seed: int = 0
    seeds: list[int] | None = None  # several seeds (a resumed multi-seed run); None: just ``seed``
    params: EvalParams = Field(default_factory=EvalParams)
    concurrency: int = Field(default=4, ge=1)
    run_id: str | None = None
    sessions: list[str] | None = None  # resuming: exactly these sessions, in this order

    @field_validator("languages")
    @classmethod
    def _languages(cls, value: list[str] | None) -> list[str] | None:
        return normalize_languages(value) if value else None

    @property
    def seed_list(self) -> list[int]:
        return list(self.seeds) if self.seeds else [self.seed]

    def selection(self) -> dict[str, Any]:
        """How the tasks are chosen, as the runner records it in the run's config."""
        return {
            "source": self.source,
            "languages": self.languages,
            "users": self.users,
            "limit_users": self.limit_users,
            "limit_turns": self.limit_turns,
        }

    def build_tasks(self, store: Store) -> tuple[list[UserTask], list[SkippedUser]]:
        """The users to evaluate and those skipped (with why)."""
        if self.sessions is None:
            return build_tasks(
                store,
                source=self.source,
                languages=self.languages,
                users=self.users,
                limit_users=self.limit_users,
                max_tests=self.limit_turns,
            )
        tasks: list[UserTask] = []
        skipped: list[SkippedUser] = []
        for sid in self.sessions:
            rec = store.get_session(sid)
            if rec is None:
                skipped.append(SkippedUser("?", sid, "the session is no longer in the store"))
                continue
            got = task_from_turns(rec, store.load_turns(sid))
            if isinstance(got, SkippedUser):
                skipped.append(got)
                continue
            if self.limit_turns is not None:
                got.tests = got.tests[: self.limit_turns]
            tasks.append(got)
        return tasks, skipped

    @classmethod
    def from_run(cls, store: Store, run_id: str) -> RunRequest:
        """The request that continues stored run ``run_id`` on the same sessions and settings."""
        info = store.get_run(run_id)
        if info is None or info["kind"] != "evaluate":
            raise ValueError(f"no evaluation run {run_id!r} in {store.path}")
        config: Mapping[str, Any] = info["config"] or {}
        if not config.get("methods") or not config.get("models"):
            raise ValueError(f"run {run_id} has no recorded methods and models: it cannot be resumed")
        selection: Mapping[str, Any] = config.get("selection") or {}
        try:
            params = EvalParams.model_validate(
                {**(config.get("params") or {}), "metric_options": config.get("metric_options") or {}}
            )
            return cls(
                source=selection.get("source") or "yntp100",
                languages=selection.get("languages"),
                users=selection.get("users"),
                limit_users=selection.get("limit_users"),
                limit_turns=selection.get("limit_turns"),
                methods=list(config["methods"]),
                models=list(config["models"]),
                seed=int(config.get("seed", 0)),
                seeds=[int(x) for x in config["seeds"]] if len(config.get("seeds") or []) > 1 else None,
                params=params,
                run_id=run_id,
                sessions=list(config.get("sessions") or []),
            )
        except (ValidationError, TypeError, ValueError) as exc:
            raise ValueError(f"run {run_id}: its stored config cannot be read back: {exc}") from None


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
