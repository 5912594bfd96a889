"""One evaluation job as the CLI and the evaluator screen describe it.

:class:`RunRequest` holds the data selection (the ``sharehouse evaluate`` options: source,
languages, users, limits), the methods, models and parameters; it builds the tasks with
:func:`evaluator.task.build_tasks` and rebuilds an unfinished run's request from its stored config
(the exact sessions it evaluated) so that the run can be resumed. The defaults (methods of the
default protocol, ``DEFAULT_MODELS``) come from :mod:`evaluator.protocols`, once for every face.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from evaluator.methods.base import UserTask
from evaluator.protocols import DEFAULT_MODELS, DEFAULT_PROTOCOL, PROTOCOLS
from evaluator.runner import EvalParams
from evaluator.task import SkippedUser, build_tasks, normalize_languages, task_from_turns
from sharehouse.store import Store

DEFAULT_METHODS: tuple[str, ...] = PROTOCOLS[DEFAULT_PROTOCOL].default_methods


class RunRequest(BaseModel):
    """One evaluation run as the setup screen (or ``evaluate --tui``) describes it."""

    model_config = ConfigDict(extra="forbid")

    source: str = "yntp100"
    languages: list[str] | None = None  # None: every language
    users: list[str] | None = None  # None: every user
    limit_users: int | None = Field(default=None, ge=1)
    limit_turns: int | None = Field(default=None, ge=1)
    methods: list[str] = Field(default_factory=lambda: list(DEFAULT_METHODS), min_length=1)
    models: list[str] = Field(default_factory=lambda: list(DEFAULT_MODELS), min_length=1)
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
