"""The evaluation runner: every method × model × seed predicts every user's day-5 replies, each
prediction is stored as soon as it exists, then scored with M1–M6 (and optionally the LLM judge)
and summarised per language.

Resumable: a prediction is keyed by (eval run, method, model, seed, session, day, idx) and never
recomputed; a rerun with the same run id does only what is missing (a user whose predictions are
all stored is not even fitted), under the protocol the run was made under (:mod:`evaluator.protocols`;
recorded in the config and each prediction's params, another one is refused). Identical reproducible LLM calls are answered from ``llm_cache``.
Scores are kept per prediction with the metric variants and judge that produced them: a rerun
with other metric options scores the run again instead of keeping the old numbers.
One failing user is recorded in ``eval_users`` with its error and the run goes on. API models run
up to ``concurrency`` users at once; a local model runs one user at a time, in order, so that
consecutive prompts share their prefix. A model is loaded only when a method first calls it: the
parameter-updating methods (LoRA, DPO, Aligner) generate with transformers on the weights their
model spec names and never load the llama.cpp model.

Tokens, latency and calls of a prediction come from the caching wrapper's calls when the method
used it, else from the method's own generations (``Prediction.completions``); the parameters a
method reports (``Prediction.params``: a trained method's hyperparameters and loss record) are
stored with the prediction under ``params["method_params"]``.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncGenerator, AsyncIterator, Mapping, Sequence
from contextlib import aclosing, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from evaluator.cached_model import CachingModel, LazyModel, completion_totals, totals
from evaluator.events import (
    EvalEvent,
    EvalObserver,
    MethodSkipped,
    MethodStarted,
    ModelLoaded,
    Predicted,
    PredictionFailed,
    RunFinished,
    Scored,
    Scoring,
    Skipped,
    UserFailed,
)
from evaluator.fitting import (
    FitDone,
    FitFailed,
    ItemFailed,
    ItemPredicted,
    Outcome,
    fit_and_predict,
    method_context,
)
from evaluator.method_names import LEGACY_KEY, check_legacy_resume, is_legacy
from evaluator.methods import get_method
from evaluator.methods.base import Method, MethodContext, Prediction, TestItem, UserTask
from evaluator.methods.clean import detect_flags
from evaluator.methods.promptkit import prompt_sha256
from evaluator.metrics.wordvectors import WORD_VECTORS
from evaluator.protocols import DEFAULT_PROTOCOL, check_method, check_resume
from evaluator.ray_fits import RayFits
from evaluator.request import EvalOptions, EvalParams  # callers also import EvalParams from here
from evaluator.scoring import MetricOptions, ScorePair, score_pairs
from sharehouse.llm import load_model, parse_spec
from sharehouse.llm.base import ChatModel
from sharehouse.store import Store, new_id
from sharehouse.store.evaluation import (
    PredictionKey,
    PredictionRecord,
    ScoreRecord,
    UserStatusRecord,
    has_user_status,
    insert_prediction,
    load_predictions,
    prediction_keys,
    put_scores,
    put_user_status,
    set_run_config,
)


class _Combo:
    def __init__(
        self, method_name: str, method: Method, spec: str, model: ChatModel, api: bool, seed: int
    ) -> None:
        self.method_name, self.method, self.spec, self.model, self.api = method_name, method, spec, model, api
        self.seed = seed
        self.errors = 0


def _merge(old: Any, new: Sequence[Any]) -> list[Any]:
    """``old`` (a stored list, if it is one) followed by what ``new`` adds, without repeats."""
    return list(dict.fromkeys([*(old if isinstance(old, list) else []), *new]))


def _run_config(
    tasks: Sequence[UserTask], options: EvalOptions, previous: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The run's config: what this call asks for, merged with what earlier calls of the run did
    (methods, models, seeds, users and sessions accumulate; settings are the latest)."""
    params = options.params
    prev = dict(previous or {})
    all_seeds = _merge(prev.get("seeds", [prev["seed"]] if "seed" in prev else []), options.seed_list)
    config = {
        **prev,
        "protocol": params.protocol,
        "selection": dict(options.selection) or prev.get("selection", {}),
        "methods": _merge(prev.get("methods"), options.methods),
        "models": _merge(prev.get("models"), options.models),
        "seed": all_seeds[0],
        "seeds": all_seeds,
        "params": params.model_dump(mode="json", exclude={"metric_options"}),
        "metric_options": params.metric_options.model_dump(mode="json"),
        "users": _merge(prev.get("users"), [t.user_id for t in tasks]),
        "sessions": _merge(prev.get("sessions"), [t.session_id for t in tasks]),
    }
    if is_legacy(prev):
        config[LEGACY_KEY] = True  # its old method names keep their meaning (evaluator.method_names)
    return config


def score_variant(options: MetricOptions, judge: str | None) -> dict[str, str | None]:
    """The score columns that identify the metric variants of ``options`` and the judge."""
    return {
        "m1_vectors": WORD_VECTORS,
        "m2_encoder": options.sentence_encoder,
        "m4_unit": options.length_unit,
        "m6_encoder": options.history_encoder,
        "judge_model": judge,
    }


#: The M3/M5 tokens of runs recorded before the option existed (whitespace tokens were dropped).
_TOKENS_BEFORE_OPTION = "no-whitespace"


def drop_scores_of_other_tokens(
    store: Store, run_id: str, previous_config: Mapping[str, Any], options: MetricOptions
) -> int:
    """Delete the run's scores when they were computed with other M3/M5 tokens than ``options``
    (no score column records the tokens: the run config does), so that every prediction is
    scored again. Runs recorded before the option had whitespace-free tokens. Called before the
    new config is stored, so a kill in between deletes again on the next start. Returns how many
    score rows were deleted."""
    recorded = dict(previous_config.get("metric_options") or {}).get("tokens", _TOKENS_BEFORE_OPTION)
    if recorded == options.tokens:
        return 0
    with store.transaction() as conn:
        (count,) = conn.execute("SELECT count(*) FROM eval_scores WHERE eval_run = ?", [run_id]).fetchone()
        conn.execute("DELETE FROM eval_scores WHERE eval_run = ?", [run_id])
    return int(count)


def _key(method: str, spec: str, seed: int, item: TestItem) -> PredictionKey:
    return (method, spec, seed, item.session_id, item.day, item.idx)


def _emit(hook: EvalObserver | None, event: EvalEvent) -> None:
    if hook is not None:
        hook(event)


@dataclass
class _UserRun:
    """One user under one method × model × seed, step by step: what is left to do (resume), then
    the fit and each remaining turn's prediction recorded as they come (:mod:`evaluator.fitting`),
    from this process or from a Ray worker (``remote``). :meth:`run` reads top-down."""

    store: Store
    run_id: str
    combo: _Combo
    user: UserTask
    params: EvalParams
    hook: EvalObserver | None
    remote: RayFits | None = None
    status: UserStatusRecord = field(init=False)

    def __post_init__(self) -> None:
        self.status = UserStatusRecord(
            eval_run=self.run_id, method=self.combo.method_name, model=self.combo.spec, seed=self.combo.seed,
            session_id=self.user.session_id, user_id=self.user.user_id, language=self.user.language, status="ok",
        )  # fmt: skip

    async def run(self, done: set[PredictionKey]) -> None:
        todo = self.left_to_do(done)
        if not todo:
            return
        async with aclosing(self.outcomes(todo)) as outcomes:
            async for outcome in outcomes:
                match outcome:
                    case FitFailed():
                        return self.fit_failed(outcome, len(todo))
                    case FitDone():
                        self.fitted(outcome)
                    case ItemPredicted():
                        self.record(outcome)
                    case ItemFailed():
                        self.prediction_failed(outcome)
        put_user_status(self.store, self.status)

    # -- resume ------------------------------------------------------------------------------
    def left_to_do(self, done: set[PredictionKey]) -> list[TestItem]:
        """The user's day-5 turns without a stored prediction; the others are reported skipped."""
        c = self.combo
        todo = [t for t in self.user.tests if _key(c.method_name, c.spec, c.seed, t) not in done]
        for item in self.user.tests:
            if item not in todo:
                event = Skipped(c.method_name, c.spec, c.seed, session_id=item.session_id, idx=item.idx)
                _emit(self.hook, event)
        if not todo and not has_user_status(
            self.store, self.run_id, c.method_name, c.spec, c.seed, self.user.session_id
        ):
            # Every prediction is stored, but a process killed after the last one and before the
            # user's status was written left none: record it, so the run counts this user as done.
            self.status.fit_info = {"note": "status recorded on resume; the fit's figures were lost"}
            put_user_status(self.store, self.status)
        return todo

    # -- fit and predict, here or on a worker ------------------------------------------------
    def outcomes(self, todo: list[TestItem]) -> AsyncGenerator[Outcome, None]:
        """The fit's and predictions' outcomes: from a Ray worker when the run has one for this
        method, else from this process."""
        if self.remote is not None:
            return self.remote.outcomes(
                self.combo.method_name, self.combo.spec, self.combo.seed, self.user, todo
            )
        wrapper = self.caching_model()
        return fit_and_predict(self.combo.method, self.user, self.context(wrapper), wrapper, todo)

    def caching_model(self) -> CachingModel:
        c, p = self.combo, self.params
        return CachingModel(
            c.model, c.spec, store=self.store, use_cache=p.use_cache,
            priced_as=parse_spec(c.spec).model if c.api else None, api_base=p.api_base if c.api else None,
        )  # fmt: skip

    def context(self, wrapper: CachingModel) -> MethodContext:
        return method_context(self.params, self.combo.spec, self.combo.seed, wrapper, self.store)

    # -- record ------------------------------------------------------------------------------
    def fit_failed(self, outcome: FitFailed, turns: int) -> None:
        """Fitting failed: recorded, with the ``turns`` it leaves unpredicted; the run goes on."""
        c = self.combo
        c.errors += 1
        self.status.status, self.status.error = "failed", outcome.error
        put_user_status(self.store, self.status)
        _emit(
            self.hook,
            UserFailed(c.method_name, c.spec, c.seed, self.user.user_id, outcome.error, turns=turns),
        )

    def fitted(self, outcome: FitDone) -> None:
        self.status.fit_latency_s = outcome.seconds
        self.status.fit_prompt_tokens = outcome.used.prompt_tokens
        self.status.fit_completion_tokens = outcome.used.completion_tokens
        self.status.fit_cost_usd = outcome.used.cost_usd
        self.status.fit_info = outcome.info or None

    def prediction_failed(self, outcome: ItemFailed) -> None:
        c, item = self.combo, outcome.item
        c.errors += 1
        if self.status.error is None:
            self.status.status = "failed"
            self.status.error = f"predict day {item.day} #{item.idx}: {outcome.error_type}: {outcome.message}"
        _emit(self.hook, PredictionFailed(c.method_name, c.spec, c.seed, self.user.user_id, outcome.message))

    def record(self, outcome: ItemPredicted) -> None:
        c, item = self.combo, outcome.item
        rec = self.prediction_record(item, outcome.prediction, outcome.calls, outcome.latency_s)
        insert_prediction(self.store, rec)
        _emit(
            self.hook,
            Predicted(
                c.method_name, c.spec, c.seed, self.user.user_id, item.session_id, item.idx,
                llm_calls=rec.llm_calls or 0, cached_calls=rec.cached_calls or 0, latency_s=rec.latency_s or 0.0,
                flagged=bool(rec.flags),
            ),
        )  # fmt: skip

    def prediction_record(
        self, item: TestItem, pred: Prediction, calls: Sequence[Any], latency: float
    ) -> PredictionRecord:
        """What is stored for one prediction: texts, flags, the prompt's digest, the parameters and
        the model's usage (a method that generates outside the wrapper reports its own generations)."""
        c, p, user = self.combo, self.params, self.user
        used = totals(list(calls)) if calls else completion_totals(pred.completions)
        counted = bool(calls or pred.completions)
        detected = detect_flags(pred.raw, pred.text, language=user.language, message=item.message)
        flags = list(dict.fromkeys([*pred.flags, *detected]))
        if calls and not pred.prompt:
            digest = prompt_sha256(calls[-1].messages)
        else:
            digest = hashlib.sha256(pred.prompt.encode("utf-8")).hexdigest() if pred.prompt else None
        gen_params = {
            "temperature": p.temperature, "max_tokens": p.max_tokens, "top_p": p.top_p, "seed": c.seed,
            "protocol": p.protocol, **p.method_extra(),
        }  # fmt: skip
        return PredictionRecord(
            eval_run=self.run_id, method=c.method_name, model=c.spec, seed=c.seed, user_id=user.user_id,
            language=user.language, session_id=item.session_id, day=item.day, idx=item.idx, npc=item.npc,
            message=item.message, reference=item.reference, prediction=pred.text, raw=pred.raw, flags=flags,
            prompt_sha256=digest,
            params={**gen_params, "method_params": pred.params} if pred.params else gen_params,
            latency_s=latency,
            prompt_tokens=used.prompt_tokens if counted else None,
            completion_tokens=used.completion_tokens if counted else None,
            llm_calls=used.calls, cached_calls=used.cached, cost_usd=used.cost_usd,
        )  # fmt: skip


def score_run(
    store: Store,
    run_id: str,
    tasks: Sequence[UserTask] = (),
    *,
    method: str | None = None,
    model: str | None = None,
    options: MetricOptions | None = None,
    judge: ChatModel | None = None,
    judge_spec: str | None = None,
) -> int:
    """Score every stored prediction of a run (or of one method/model) that has no scores under
    these options yet: never scored, or scored with other metric variants or another judge.

    ``judge`` (with ``judge_spec``, its model spec as recorded) also rates content and style 1–5.
    The history of M6 is the task's day 1–4 replies; for a session not among ``tasks`` it comes
    from the store. Returns how many predictions were scored.
    """
    options = options or MetricOptions()
    if judge is not None and judge_spec is None:
        judge_spec = getattr(judge, "model_spec", None) or judge.name
    variant = score_variant(options, judge_spec if judge is not None else None)
    preds = load_predictions(store, run_id, method=method, model=model, stale_for=variant)
    if not preds:
        return 0
    history = {t.session_id: [h.response for h in t.history] for t in tasks}
    pairs = [
        ScorePair(
            user=p.user_id,
            language=p.language,
            message=p.message,
            reference=p.reference,
            prediction=p.prediction,
            history=history.get(p.session_id),
            method=p.method,
            model=p.model,
        )
        for p in preds
    ]
    scores = score_pairs(pairs, store=store, options=options, judge=judge)
    put_scores(
        store,
        [
            ScoreRecord(
                eval_run=run_id,
                method=p.method,
                model=p.model,
                seed=p.seed,
                session_id=p.session_id,
                day=p.day,
                idx=p.idx,
                m1=s.m1,
                m2=s.m2,
                m3=s.m3,
                m4=s.m4,
                m5=s.m5,
                m6=s.m6,
                judge_content=s.judge_content,
                judge_style=s.judge_style,
                judge_model=variant["judge_model"],
                m1_vectors=s.m1_vectors,
                m2_encoder=s.m2_encoder,
                m4_unit=s.m4_unit,
                m6_encoder=s.m6_encoder,
            )
            for p, s in zip(preds, scores, strict=True)
        ],
    )
    return len(preds)


def _resolve_methods(
    names: Sequence[str], extra: dict[str, Any], protocol: str = DEFAULT_PROTOCOL
) -> list[tuple[str, Method]]:
    out = []
    for name in names:
        try:
            method = get_method(name)
        except KeyError as exc:
            raise ValueError(exc.args[0]) from None
        check_method(name, method, protocol)
        try:
            method.check_options(extra)
        except ValueError as exc:
            raise ValueError(f"{name}: {exc}") from None
        out.append((name, method))
    return out


def _model_problem(method: Method, spec: str) -> str | None:
    """Why ``method`` cannot run on ``spec`` at all (a reason recorded per user), or None."""
    try:
        method.check_model(spec)
    except ValueError as exc:
        return str(exc)
    return None


def _judge_model(
    spec: str | None, api_base: str | None, store: Store, hook: EvalObserver | None
) -> ChatModel | None:
    """The judge, loaded on its first call and answered from the LLM cache when it can be."""
    if spec is None:
        return None
    cfg = parse_spec(spec, api_base=api_base)
    api = cfg.backend == "litellm"

    def load() -> ChatModel:
        return load_model(spec, api_base=api_base)

    lazy = LazyModel(spec, load, on_load=lambda: _emit(hook, ModelLoaded(model=spec, role="judge")))
    return CachingModel(
        lazy, spec, store=store, priced_as=cfg.model if api else None, api_base=api_base if api else None
    )


def _resolve(options: EvalOptions) -> list[tuple[str, Method]]:
    """The methods by name, each checked against the protocol and the method options; every model
    spec (and the judge's) parsed, so that a bad one is refused before any work."""
    params = options.params
    resolved = _resolve_methods(options.methods, params.method_extra(), params.protocol)
    for spec in [*options.models, *([params.judge] if params.judge else [])]:
        parse_spec(spec, api_base=params.api_base)
    return resolved


@dataclass
class _EvalRun:
    """One call of the runner after its options were checked: the run opened (or resumed) with its
    config recorded, what is stored already, the judge, and the errors so far."""

    store: Store
    tasks: Sequence[UserTask]
    options: EvalOptions
    run_id: str
    config: dict[str, Any]
    hook: EvalObserver | None
    done: set[PredictionKey] = field(init=False)
    judge: ChatModel | None = field(init=False)
    errors: int = 0
    remote: RayFits | None = None  # --executor ray: where the trained methods' users run

    def __post_init__(self) -> None:
        self.done = prediction_keys(self.store, self.run_id)
        p = self.options.params
        self.judge = _judge_model(p.judge, p.api_base, self.store, self.hook) if p.score else None

    # -- open or resume ------------------------------------------------------------------------
    @classmethod
    def open(
        cls, store: Store, tasks: Sequence[UserTask], options: EvalOptions, hook: EvalObserver | None
    ) -> _EvalRun:
        """A new run, or the stored one resumed under its own protocol: its config merged with
        this call's and recorded (scores made with other M3/M5 tokens dropped first)."""
        run_id = options.run_id or new_id("eval")
        previous = store.get_run(run_id)
        if previous is not None:
            check_resume(run_id, previous["config"], options.params.protocol)
            check_legacy_resume(run_id, previous["config"], options.methods)
        config = _run_config(tasks, options, previous["config"] if previous else None)
        if previous is not None:
            drop_scores_of_other_tokens(store, run_id, previous["config"], options.params.metric_options)
        store.upsert_run(run_id, "evaluate", config)
        if previous is not None:
            set_run_config(store, run_id, config)
        return cls(store, tasks, options, run_id, config, hook)

    # -- predict each user, score each method × model -----------------------------------------
    async def each_method_on_each_model(self, methods: Sequence[tuple[str, Method]]) -> None:
        """Every method of the first model, then of the next: a model is loaded only when a method
        first calls it."""
        for spec in self.options.models:
            model, api = self.lazy_model(spec)
            for name, method in methods:
                self.errors += await self.method_on_model(name, method, spec, model, api)

    def lazy_model(self, spec: str) -> tuple[ChatModel, bool]:
        """``spec``'s model, loaded at its first call, and whether it is an API model."""
        api_base = self.options.params.api_base
        api = parse_spec(spec, api_base=api_base).backend == "litellm"

        def load() -> ChatModel:
            return load_model(spec, api_base=api_base)

        return LazyModel(spec, load, on_load=lambda: _emit(self.hook, ModelLoaded(model=spec))), api

    async def method_on_model(self, name: str, method: Method, spec: str, model: ChatModel, api: bool) -> int:
        """One method × model: every seed's users predicted, then scored; returns its errors."""
        seeds = self.options.seed_list
        total = sum(len(t.tests) for t in self.tasks) * len(seeds)
        _emit(self.hook, MethodStarted(method=name, model=spec, total=total, seeds=len(seeds)))
        problem = _model_problem(method, spec)
        if problem is not None:
            self.record_skipped(name, spec, problem)
            _emit(self.hook, MethodSkipped(method=name, model=spec, reason=problem))
            return len(self.tasks) * len(seeds)
        errors = 0
        for seed in seeds:
            combo = _Combo(name, method, spec, model, api, seed)
            await self.predict_users(combo)
            errors += combo.errors
        if self.options.params.score:
            _emit(self.hook, Scoring(method=name, model=spec))
            n = await self.score(name, spec)
            _emit(self.hook, Scored(method=name, model=spec, predictions=n))
        return errors

    def record_skipped(self, name: str, spec: str, problem: str) -> None:
        """Every user × seed of a method that cannot run on ``spec``: failed, with the reason."""
        for seed in self.options.seed_list:
            for user in self.tasks:
                put_user_status(
                    self.store,
                    UserStatusRecord(
                        eval_run=self.run_id, method=name, model=spec, seed=seed, session_id=user.session_id,
                        user_id=user.user_id, language=user.language, status="failed",
                        error=f"skipped: {problem}",
                    ),
                )  # fmt: skip

    async def predict_users(self, combo: _Combo) -> None:
        """Every user under one method × model × seed (:class:`_UserRun`): up to ``concurrency``
        at once on an API model or on Ray workers (a trained method with ``--executor ray``), one
        at a time, in order, on a local one."""
        remote = self.remote if combo.method.trains else None
        sem = asyncio.Semaphore(self.options.concurrency if combo.api or remote else 1)

        async def one(user: UserTask) -> None:
            async with sem:
                user_run = _UserRun(
                    self.store, self.run_id, combo, user, self.options.params, self.hook, remote=remote
                )
                await user_run.run(self.done)

        await asyncio.gather(*(one(u) for u in self.tasks))

    async def score(self, method: str | None = None, model: str | None = None) -> int:
        """:func:`score_run` in a thread, with the run's metric options and judge."""
        p = self.options.params
        return await asyncio.to_thread(
            score_run, self.store, self.run_id, self.tasks, method=method, model=model,
            options=p.metric_options, judge=self.judge, judge_spec=p.judge,
        )  # fmt: skip

    # -- finish --------------------------------------------------------------------------------
    async def finish(self) -> None:
        """Score whatever else of the run is unscored or was scored with other options, record
        what it is scored with and the run's status, and report :class:`RunFinished`."""
        p = self.options.params
        if p.score:
            await self.score()
            self.config["scored_with"] = {
                "metric_options": p.metric_options.model_dump(mode="json"),
                "judge": p.judge,
            }
            set_run_config(self.store, self.run_id, self.config)
        self.store.set_run_status(self.run_id, "complete" if self.errors == 0 else "partial")
        _emit(self.hook, RunFinished(run_id=self.run_id, errors=self.errors))


async def run_evaluation_async(
    store: Store,
    tasks: Sequence[UserTask],
    options: EvalOptions,
    *,
    on_event: EvalObserver | None = None,
) -> str:
    """Predict, store and score every method × model × seed of ``options`` on ``tasks``; returns
    the run id (``options.run_id`` resumes that run).

    ``on_event`` observes the run: one :mod:`evaluator.events` record per step (``MethodStarted``,
    ``Skipped``, ``Predicted``, ``PredictionFailed``, ``UserFailed``, ``MethodSkipped``,
    ``ModelLoaded``, ``Scoring``, ``Scored``, ``RunFinished``); the CLI's progress bars
    (:class:`evaluator.progress_bars.EvalProgressBars`) and the evaluator screen are observers.
    """
    methods = _resolve(options)
    run = _EvalRun.open(store, tasks, options, on_event)
    async with _remote_fits(options, methods) as remote:
        run.remote = remote
        await run.each_method_on_each_model(methods)
    await run.finish()
    return run.run_id


@asynccontextmanager
async def _remote_fits(
    options: EvalOptions, methods: Sequence[tuple[str, Method]]
) -> AsyncIterator[RayFits | None]:
    """Ray for the trained methods' users with ``--executor ray`` (started only when one of the
    methods trains), else None: everything runs in this process."""
    if options.executor != "ray" or not any(method.trains for _, method in methods):
        yield None
        return
    async with RayFits.started(options) as remote:
        yield remote


def run_evaluation(
    store: Store,
    tasks: Sequence[UserTask],
    options: EvalOptions,
    *,
    on_event: EvalObserver | None = None,
) -> str:
    """Synchronous :func:`run_evaluation_async` (for scripts and the CLI)."""
    return asyncio.run(run_evaluation_async(store, tasks, options, on_event=on_event))
