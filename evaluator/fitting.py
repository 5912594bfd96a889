"""One user under one method: the fit, then a prediction per day-5 turn, as a stream of outcomes.

:func:`fit_and_predict` yields a :class:`FitDone` (or a :class:`FitFailed`, and nothing after it),
then an :class:`ItemPredicted` or :class:`ItemFailed` per turn, in order. The runner records each
outcome as it comes (:class:`evaluator.runner._UserRun`), whether the stream runs in this process
or on a Ray worker (:mod:`evaluator.ray_fits`, ``evaluate --executor ray``), which sends the same
outcomes back.
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass
from typing import Any

from evaluator.cached_model import CachingModel, CallRecord, CallTotals, completion_totals, totals
from evaluator.methods.base import Method, MethodContext, Prediction, TestItem, UserTask
from evaluator.request import EvalParams
from sharehouse.llm.base import ChatModel
from sharehouse.store import Store


@dataclass(frozen=True)
class FitDone:
    """The method is fitted: its time, the model use of fitting, and what it reports (fit_info)."""

    seconds: float
    used: CallTotals
    info: dict[str, Any]


@dataclass(frozen=True)
class FitFailed:
    """The method could not be fitted (``error``: ``fit: Type: message``); no turn is predicted."""

    error: str


@dataclass(frozen=True)
class ItemPredicted:
    """One turn predicted: the prediction, the calls made through the model wrapper, the time."""

    item: TestItem
    prediction: Prediction
    calls: list[CallRecord]
    latency_s: float


@dataclass(frozen=True)
class ItemFailed:
    """One turn's prediction raised ``error_type``: ``message``."""

    item: TestItem
    error_type: str
    message: str


Outcome = FitDone | FitFailed | ItemPredicted | ItemFailed


async def fit_and_predict(
    method: Method, user: UserTask, ctx: MethodContext, wrapper: CachingModel, todo: Sequence[TestItem]
) -> AsyncGenerator[Outcome, None]:
    """Fit ``method`` to ``user`` with ``ctx`` (whose model is ``wrapper``), then predict ``todo``."""
    started = time.perf_counter()
    try:
        predictor = await method.fit(user, ctx)
    except Exception as exc:  # one user's failure must not stop the run
        yield FitFailed(f"fit: {type(exc).__name__}: {exc}")
        return
    used = totals(wrapper.calls) if wrapper.calls else completion_totals(list(predictor.fit_completions))
    yield FitDone(seconds=time.perf_counter() - started, used=used, info=dict(predictor.fit_info))
    for item in todo:
        first = len(wrapper.calls)
        began = time.perf_counter()
        try:
            pred = await predictor.predict(item)
        except Exception as exc:
            yield ItemFailed(item, type(exc).__name__, str(exc))
            continue
        yield ItemPredicted(item, pred, wrapper.calls[first:], time.perf_counter() - began)


def method_context(
    params: EvalParams, spec: str, seed: int, model: ChatModel, store: Store | None
) -> MethodContext:
    """What a method is fitted with: the run's generation settings and method options, ``model``
    (the model wrapper) and ``store`` (its embedding cache; None on a Ray worker)."""
    return MethodContext(
        model=model, model_spec=spec, seed=seed, temperature=params.temperature, max_tokens=params.max_tokens,
        top_p=params.top_p, extra=params.method_extra(), store=store, protocol=params.protocol,
    )  # fmt: skip
