"""The evaluation runner: every method × model predicts every user's day-5 replies, each
prediction is stored as soon as it exists, then scored with M1–M6 and summarised per language.

Resumable: a prediction is keyed by (eval run, method, model, session, day, idx) and never
recomputed; a rerun with the same run id does only what is missing (a user whose predictions are
all stored is not even fitted). Identical reproducible LLM calls are answered from ``llm_cache``.
One failing user is recorded in ``eval_users`` with its error and the run goes on. API models run
up to ``concurrency`` users at once; a local model runs one user at a time, in order, so that
consecutive prompts share their prefix.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from evaluator.cached_model import CachingModel, totals
from evaluator.methods.base import Method, MethodContext, Prediction, TestItem, UserTask, get_method
from evaluator.methods.clean import detect_flags
from evaluator.methods.promptkit import prompt_sha256
from evaluator.scoring import MetricOptions, ScorePair, score_pairs
from sharehouse.consoles import err_console
from sharehouse.llm import load_model, parse_spec
from sharehouse.llm.base import ChatModel
from sharehouse.store import Store, new_id
from sharehouse.store.evaluation import (
    PredictionKey,
    PredictionRecord,
    ScoreRecord,
    UserStatusRecord,
    insert_prediction,
    load_predictions,
    prediction_keys,
    put_scores,
    put_user_status,
)

EventHook = Callable[[str, dict[str, Any]], None]


class EvalParams(BaseModel):
    """Generation settings and method options shared by every method × model of a run."""

    model_config = ConfigDict(extra="forbid")

    temperature: float = 0.7
    max_tokens: int = Field(default=160, ge=1)
    api_base: str | None = None
    extra: dict[str, Any] = Field(default_factory=dict)  # method options: max_demos, k, ...
    metric_options: MetricOptions = Field(default_factory=MetricOptions)
    score: bool = True
    use_cache: bool = True


class _Combo:
    def __init__(self, method_name: str, method: Method, spec: str, model: ChatModel, api: bool) -> None:
        self.method_name, self.method, self.spec, self.model, self.api = method_name, method, spec, model, api
        self.errors = 0
        self.flags = 0


def _run_config(
    tasks: Sequence[UserTask],
    methods: Sequence[str],
    models: Sequence[str],
    seed: int,
    params: EvalParams,
    selection: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "selection": dict(selection or {}),
        "methods": list(methods),
        "models": list(models),
        "seed": seed,
        "params": params.model_dump(mode="json", exclude={"metric_options"}),
        "metric_options": params.metric_options.model_dump(mode="json"),
        "users": [t.user_id for t in tasks],
        "sessions": [t.session_id for t in tasks],
    }


def _key(method: str, spec: str, item: TestItem) -> PredictionKey:
    return (method, spec, item.session_id, item.day, item.idx)


def _emit(hook: EventHook | None, kind: str, **data: Any) -> None:
    if hook is not None:
        hook(kind, data)


async def _run_user(
    store: Store,
    run_id: str,
    combo: _Combo,
    user: UserTask,
    *,
    done: set[PredictionKey],
    seed: int,
    params: EvalParams,
    advance: Callable[[int], None],
    hook: EventHook | None,
) -> None:
    todo = [t for t in user.tests if _key(combo.method_name, combo.spec, t) not in done]
    advance(len(user.tests) - len(todo))
    for item in user.tests:
        if item not in todo:
            _emit(
                hook,
                "skipped",
                method=combo.method_name,
                model=combo.spec,
                session_id=item.session_id,
                idx=item.idx,
            )
    if not todo:
        return
    wrapper = CachingModel(
        combo.model,
        combo.spec,
        store=store,
        use_cache=params.use_cache,
        priced_as=parse_spec(combo.spec).model if combo.api else None,
    )
    ctx = MethodContext(
        model=wrapper,
        model_spec=combo.spec,
        seed=seed,
        temperature=params.temperature,
        max_tokens=params.max_tokens,
        extra=dict(params.extra),
        store=store,
    )
    status = UserStatusRecord(
        eval_run=run_id,
        method=combo.method_name,
        model=combo.spec,
        session_id=user.session_id,
        user_id=user.user_id,
        language=user.language,
        status="ok",
    )
    started = time.perf_counter()
    try:
        predictor = await combo.method.fit(user, ctx)
    except Exception as exc:  # one user's failure must not stop the run
        combo.errors += 1
        status.status, status.error = "failed", f"fit: {type(exc).__name__}: {exc}"
        put_user_status(store, status)
        advance(len(todo))
        _emit(
            hook,
            "user_failed",
            method=combo.method_name,
            model=combo.spec,
            user=user.user_id,
            error=status.error,
        )
        return
    fit = totals(wrapper.calls)
    status.fit_latency_s = time.perf_counter() - started
    status.fit_prompt_tokens, status.fit_completion_tokens = fit.prompt_tokens, fit.completion_tokens
    status.fit_cost_usd = fit.cost_usd
    info = getattr(predictor, "fit_info", None)
    status.fit_info = dict(info) if isinstance(info, dict) else None

    gen_params = {
        "temperature": params.temperature,
        "max_tokens": params.max_tokens,
        "seed": seed,
        **params.extra,
    }
    for item in todo:
        first = len(wrapper.calls)
        t0 = time.perf_counter()
        try:
            pred: Prediction = await predictor.predict(item)
        except Exception as exc:
            combo.errors += 1
            if status.error is None:
                status.status, status.error = (
                    "failed",
                    f"predict day {item.day} #{item.idx}: {type(exc).__name__}: {exc}",
                )
            advance(1)
            _emit(
                hook,
                "prediction_failed",
                method=combo.method_name,
                model=combo.spec,
                user=user.user_id,
                error=str(exc),
            )
            continue
        latency = time.perf_counter() - t0
        calls = wrapper.calls[first:]
        used = totals(calls)
        flags = list(
            dict.fromkeys(
                [
                    *pred.flags,
                    *detect_flags(pred.raw, pred.text, language=user.language, message=item.message),
                ]
            )
        )
        if calls and not pred.prompt:
            digest = prompt_sha256(calls[-1].messages)
        else:
            digest = hashlib.sha256(pred.prompt.encode("utf-8")).hexdigest() if pred.prompt else None
        rec = PredictionRecord(
            eval_run=run_id,
            method=combo.method_name,
            model=combo.spec,
            user_id=user.user_id,
            language=user.language,
            session_id=item.session_id,
            day=item.day,
            idx=item.idx,
            npc=item.npc,
            message=item.message,
            reference=item.reference,
            prediction=pred.text,
            raw=pred.raw,
            flags=flags,
            prompt_sha256=digest,
            params=gen_params,
            latency_s=latency,
            prompt_tokens=used.prompt_tokens if calls else None,
            completion_tokens=used.completion_tokens if calls else None,
            llm_calls=used.calls,
            cached_calls=used.cached,
            cost_usd=used.cost_usd,
        )
        insert_prediction(store, rec)
        combo.flags += int(bool(flags))
        advance(1)
        _emit(
            hook,
            "predicted",
            method=combo.method_name,
            model=combo.spec,
            user=user.user_id,
            session_id=item.session_id,
            idx=item.idx,
            llm_calls=used.calls,
            cached_calls=used.cached,
            latency_s=latency,
        )
    put_user_status(store, status)


def score_run(
    store: Store,
    run_id: str,
    tasks: Sequence[UserTask] = (),
    *,
    method: str | None = None,
    model: str | None = None,
    options: MetricOptions | None = None,
) -> int:
    """Score every stored prediction of a run (or of one method/model) that has no scores yet.

    The history of M6 is the task's day 1–4 replies; for a session not among ``tasks`` it comes
    from the store. Returns how many predictions were scored.
    """
    preds = load_predictions(store, run_id, method=method, model=model, unscored_only=True)
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
    scores = score_pairs(pairs, store=store, options=options or MetricOptions())
    put_scores(
        store,
        [
            ScoreRecord(
                eval_run=run_id,
                method=p.method,
                model=p.model,
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
                m1_vectors=s.m1_vectors,
                m2_encoder=s.m2_encoder,
                m4_unit=s.m4_unit,
                m6_encoder=s.m6_encoder,
            )
            for p, s in zip(preds, scores, strict=True)
        ],
    )
    return len(preds)


def _resolve_methods(names: Sequence[str]) -> list[tuple[str, Method]]:
    out = []
    for name in names:
        try:
            out.append((name, get_method(name)))
        except KeyError as exc:
            raise ValueError(exc.args[0]) from None
    return out


async def run_evaluation_async(
    store: Store,
    tasks: Sequence[UserTask],
    methods: Sequence[str],
    models: Sequence[str],
    *,
    seed: int = 0,
    params: EvalParams | None = None,
    concurrency: int = 4,
    progress: bool = True,
    run_id: str | None = None,
    console: Console | None = None,
    on_event: EventHook | None = None,
    selection: Mapping[str, Any] | None = None,
) -> str:
    """Predict, store and score; returns the run id (pass it again to resume).

    ``selection`` records how the tasks were chosen (source, languages, users, limit_users,
    limit_turns) in the run's config, beside the users and sessions themselves.
    """
    params = params or EvalParams()
    resolved = _resolve_methods(methods)
    for spec in models:
        parse_spec(spec, api_base=params.api_base)  # reject a bad spec before any work
    run_id = run_id or new_id("eval")
    store.upsert_run(run_id, "evaluate", _run_config(tasks, methods, models, seed, params, selection))
    done = prediction_keys(store, run_id)
    console = console or err_console()
    total_errors = 0

    progress_bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[note]}"),
        TimeElapsedColumn(),
        console=console,
        disable=not progress,
    )
    with progress_bar:
        for spec in models:
            cfg = parse_spec(spec, api_base=params.api_base)
            api = cfg.backend == "litellm"
            model: ChatModel | None = None
            for name, method in resolved:
                n_tests = sum(len(t.tests) for t in tasks)
                task_id: TaskID = progress_bar.add_task(f"{name} × {spec}", total=n_tests, note="")
                if method.trains and api:
                    for user in tasks:
                        put_user_status(
                            store,
                            UserStatusRecord(
                                eval_run=run_id, method=name, model=spec, session_id=user.session_id,
                                user_id=user.user_id, language=user.language, status="failed",
                                error="this method trains weights: local models only",
                            ),
                        )  # fmt: skip
                    progress_bar.update(
                        task_id, completed=n_tests, note="[red]skipped: local models only[/red]"
                    )
                    total_errors += len(tasks)
                    continue
                if model is None:
                    model = load_model(spec, api_base=params.api_base)
                combo = _Combo(name, method, spec, model, api)
                sem = asyncio.Semaphore(max(1, concurrency) if api else 1)

                def advance(n: int, _task: TaskID = task_id, _combo: _Combo = combo) -> None:
                    if n:
                        note = []
                        if _combo.errors:
                            note.append(f"[red]{_combo.errors} errors[/red]")
                        if _combo.flags:
                            note.append(f"[yellow]{_combo.flags} flagged[/yellow]")
                        progress_bar.update(_task, advance=n, note=" ".join(note))

                async def job(
                    user: UserTask,
                    _combo: _Combo = combo,
                    _adv: Callable[[int], None] = advance,
                    _sem: asyncio.Semaphore = sem,
                ) -> None:
                    async with _sem:
                        await _run_user(
                            store,
                            run_id,
                            _combo,
                            user,
                            done=done,
                            seed=seed,
                            params=params,
                            advance=_adv,
                            hook=on_event,
                        )

                await asyncio.gather(*(job(u) for u in tasks))
                total_errors += combo.errors
                if params.score:
                    progress_bar.update(task_id, note="scoring…")
                    n = await asyncio.to_thread(
                        score_run,
                        store,
                        run_id,
                        tasks,
                        method=name,
                        model=spec,
                        options=params.metric_options,
                    )
                    _emit(on_event, "scored", method=name, model=spec, predictions=n)
                    progress_bar.update(
                        task_id, note=f"scored {n}" + (f", {combo.errors} errors" if combo.errors else "")
                    )
    if params.score:
        await asyncio.to_thread(score_run, store, run_id, tasks, options=params.metric_options)
    store.set_run_status(run_id, "complete" if total_errors == 0 else "partial")
    _emit(on_event, "finished", run_id=run_id, errors=total_errors)
    return run_id


def run_evaluation(
    store: Store,
    tasks: Sequence[UserTask],
    methods: Sequence[str],
    models: Sequence[str],
    *,
    seed: int = 0,
    params: EvalParams | None = None,
    concurrency: int = 4,
    progress: bool = True,
    run_id: str | None = None,
    console: Console | None = None,
    on_event: EventHook | None = None,
    selection: Mapping[str, Any] | None = None,
) -> str:
    """Synchronous :func:`run_evaluation_async` (for scripts and the CLI)."""
    return asyncio.run(
        run_evaluation_async(
            store,
            tasks,
            methods,
            models,
            seed=seed,
            params=params,
            concurrency=concurrency,
            progress=progress,
            run_id=run_id,
            console=console,
            on_event=on_event,
            selection=selection,
        )
    )
