"""One evaluation job as the runner, the CLI and the evaluator screen describe it.

:class:`EvalParams` holds the generation, method and scoring settings of a run. :class:`EvalOptions`
is what the runner (:func:`evaluator.runner.run_evaluation_async`) takes: methods, models, seeds,
parameters, concurrency, run id and how the tasks were chosen; frozen and validated on
construction. :class:`RunRequest` holds the same fields plus the data selection (the
``sharehouse evaluate`` options: source, languages, users, limits); it builds the tasks with
:func:`evaluator.task.build_tasks`, gives the runner its :meth:`~RunRequest.options` and rebuilds
an unfinished run's request from its stored config (the exact sessions it evaluated) so that the
run can be resumed. The defaults (methods of the default protocol, ``DEFAULT_MODELS``, seed 0,
concurrency 4) are defined once, in :class:`_RunSettings`; the protocols' own come from
:mod:`evaluator.protocols`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from evaluator.methods.base import UserTask
from evaluator.protocols import DEFAULT_MODELS, DEFAULT_PROTOCOL, PROTOCOLS, ProtocolName, method_extra
from evaluator.scoring import MetricOptions
from evaluator.task import SkippedUser, build_tasks, normalize_languages, task_from_turns
from sharehouse.executors import DEFAULT_EXECUTOR, Executor, check_executor
from sharehouse.store import Store

DEFAULT_METHODS: tuple[str, ...] = PROTOCOLS[DEFAULT_PROTOCOL].default_methods


class EvalParams(BaseModel):
    """Generation settings, method options and scoring options shared by every method × model of a run.

    ``protocol`` (:mod:`evaluator.protocols`) fills ``temperature``, ``max_tokens`` and ``top_p``
    when they are not given, and sets method options under ``extra``'s own."""

    model_config = ConfigDict(extra="forbid")

    protocol: ProtocolName = DEFAULT_PROTOCOL
    temperature: float = Field(default=0.7, ge=0)
    max_tokens: int = Field(default=160, ge=1)
    top_p: float = Field(default=0.95, gt=0, le=1)
    api_base: str | None = None
    extra: dict[str, Any] = Field(default_factory=dict)  # method options: max_demos, k, ...
    metric_options: MetricOptions = Field(default_factory=MetricOptions)
    judge: str | None = None  # model spec of the LLM judge (content/style 1-5); None: no judge
    score: bool = True
    use_cache: bool = True

    @model_validator(mode="before")
    @classmethod
    def _protocol_defaults(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        spec = PROTOCOLS.get(str(data.get("protocol") or DEFAULT_PROTOCOL))
        if spec is None:
            return data  # the field's validation names the protocols
        defaults = {"temperature": spec.temperature, "max_tokens": spec.max_tokens, "top_p": spec.top_p}
        return {**data, **{k: v for k, v in defaults.items() if data.get(k) is None}}

    def method_extra(self) -> dict[str, Any]:
        """The method options the methods see: the protocol's, then this run's."""
        return method_extra(self.protocol, self.extra)


class _RunSettings(BaseModel):
    """What a run does, shared by :class:`EvalOptions` and :class:`RunRequest` (each default once)."""

    model_config = ConfigDict(extra="forbid")

    methods: list[str] = Field(default_factory=lambda: list(DEFAULT_METHODS), min_length=1)
    models: list[str] = Field(default_factory=lambda: list(DEFAULT_MODELS), min_length=1)
    seed: int = 0
    seeds: list[int] | None = None  # several seeds, each run once (a repeat counts once); None: ``seed``
    params: EvalParams = Field(default_factory=EvalParams)
    concurrency: int = Field(default=4, ge=1)  # users at once on an API model (a local one runs one)
    run_id: str | None = None  # None: a new run; an existing id resumes that run

    @property
    def seed_list(self) -> list[int]:
        """The seeds the run goes through, in order: ``seeds`` without repeats, else ``[seed]``."""
        return list(dict.fromkeys(self.seeds)) if self.seeds else [self.seed]


class EvalOptions(_RunSettings):
    """What :func:`evaluator.runner.run_evaluation_async` runs: every method × model × seed over
    the tasks, with ``params``; ``selection`` records how the tasks were chosen (source, languages,
    users, limit_users, limit_turns) in the run's config. Frozen; a bad value is a
    :class:`pydantic.ValidationError` naming the field."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    selection: dict[str, Any] = Field(default_factory=dict)
    # Where the trained methods' users are fitted and predicted (sharehouse.executors): in this
    # process, or each as a Ray task on the cluster at ``ray_address`` (None: a local cluster).
    executor: Executor = DEFAULT_EXECUTOR
    ray_address: str | None = None

    @model_validator(mode="after")
    def _executor(self) -> EvalOptions:
        check_executor(self.executor, self.ray_address)
        return self


class RunRequest(_RunSettings):
    """One evaluation run as the setup screen (or ``evaluate --tui``) describes it."""

    source: str = "yntp100"
    languages: list[str] | None = None  # None: every language
    users: list[str] | None = None  # None: every user
    limit_users: int | None = Field(default=None, ge=1)
    limit_turns: int | None = Field(default=None, ge=1)
    sessions: list[str] | None = None  # resuming: exactly these sessions, in this order

    @field_validator("languages")
    @classmethod
    def _languages(cls, value: list[str] | None) -> list[str] | None:
        return normalize_languages(value) if value else None

    def options(self) -> EvalOptions:
        """What the runner runs for this request (its selection recorded in the run's config)."""
        shared = {name: getattr(self, name) for name in _RunSettings.model_fields}
        return EvalOptions(**shared, selection=self.selection())

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
