"""``evaluate --executor ray``: each user's trained-method fit and predictions as a Ray task.

For every user of a method that trains (LoRA, DPO, Aligner: ``Method.trains``), the driver sends a
worker the user (days 1-4 and the day-5 turns still to predict), the method's name, the model
spec, the seed and the run's parameters (:class:`UserJob`). The worker fits the method on its own
copy of the base model (loaded once per worker process), predicts each turn and streams the
outcomes of :func:`evaluator.fitting.fit_and_predict` back, where the runner records them as it
records an inline run's: each prediction is stored as soon as it arrives.

A worker lost mid-user: the user goes to another worker with the turns it has not predicted yet
(the adapter is trained again, with the same seed). After :data:`WORKER_LOSSES` lost workers the
rest of the user is recorded as failed, and a rerun with the same run id does it. The prompting
methods keep running in the driver: their calls go through the store's LLM cache, which workers
never open.

A task reserves the method's training threads (``-o threads=N``, default 2) as CPUs; a local
cluster gets ``--concurrency`` times that many.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, AsyncIterator, Iterator, Sequence
from contextlib import aclosing, asynccontextmanager
from dataclasses import dataclass
from functools import partial

from pydantic import BaseModel, ConfigDict

from evaluator.cached_model import CachingModel, LazyModel
from evaluator.fitting import (
    FitDone,
    FitFailed,
    ItemFailed,
    ItemPredicted,
    Outcome,
    fit_and_predict,
    method_context,
)
from evaluator.methods.base import TestItem, UserTask
from evaluator.request import EvalOptions, EvalParams
from sharehouse.executors.ray_tasks import WorkerLost, WorkerReady, ray_cluster, stream, worker_stream
from sharehouse.executors.relay import Send
from sharehouse.llm import load_model, parse_spec

log = logging.getLogger(__name__)

#: Workers a user may lose before the rest of it is recorded as failed (a rerun retries it).
WORKER_LOSSES = 3


class UserJob(BaseModel):
    """What a worker needs to fit one user's method and predict the turns left."""

    model_config = ConfigDict(frozen=True)

    method: str
    spec: str
    seed: int
    user: UserTask
    todo: list[TestItem]
    params: EvalParams


def task_cpus(params: EvalParams) -> int:
    """The CPUs a user's task reserves: the trained methods' torch threads (``-o threads=N``)."""
    from evaluator.methods.lora import TrainSettings

    return TrainSettings.from_extra(params.method_extra()).threads


# -- on the worker ---------------------------------------------------------------------------------
def fit_user_task(job: UserJob) -> Iterator[object]:
    """The Ray task of one user (a streaming generator, :func:`~sharehouse.executors.ray_tasks.worker_stream`)."""
    yield from worker_stream(partial(_fit, job))


async def _fit(job: UserJob, send: Send) -> None:
    from evaluator.methods import get_method

    p = job.params
    api = parse_spec(job.spec, api_base=p.api_base).backend == "litellm"
    model = LazyModel(job.spec, partial(load_model, job.spec, api_base=p.api_base))
    wrapper = CachingModel(
        model, job.spec, store=None, use_cache=False,
        priced_as=parse_spec(job.spec).model if api else None, api_base=p.api_base if api else None,
    )  # fmt: skip
    ctx = method_context(p, job.spec, job.seed, wrapper, store=None)
    async with aclosing(
        fit_and_predict(get_method(job.method), job.user, ctx, wrapper, job.todo)
    ) as outcomes:
        async for outcome in outcomes:
            send(outcome)


# -- on the driver ---------------------------------------------------------------------------------
@dataclass
class RayFits:
    """Fits and predicts the trained methods' users as Ray tasks, for the runner."""

    params: EvalParams

    @classmethod
    @asynccontextmanager
    async def started(cls, options: EvalOptions) -> AsyncIterator[RayFits]:
        """Ray up (a local cluster unless ``options.ray_address``) until the run ends."""
        cpus = options.concurrency * task_cpus(options.params)
        async with ray_cluster(options.ray_address, cpus=cpus):
            yield cls(options.params)

    async def outcomes(
        self, method: str, spec: str, seed: int, user: UserTask, todo: Sequence[TestItem]
    ) -> AsyncGenerator[Outcome, None]:
        """The outcomes of fitting ``method`` to ``user`` and predicting ``todo`` on a worker, and
        on another one, for the turns left, each time a worker is lost."""
        left, fitted = list(todo), False
        lost: list[str] = []
        while len(lost) < WORKER_LOSSES:
            job = UserJob(method=method, spec=spec, seed=seed, user=user, todo=left, params=self.params)
            try:
                async with aclosing(stream(fit_user_task, job, cpus=task_cpus(self.params))) as messages:
                    async for message in messages:
                        match message:
                            case WorkerReady():
                                log.info("%s %s: on worker %s", method, user.user_id, message.name)
                                continue
                            case ItemPredicted() | ItemFailed():
                                left.remove(message.item)
                            case FitDone():
                                fitted = True
                            case FitFailed():
                                pass
                            case _:
                                raise TypeError(f"{method} {user.user_id}: a worker sent {message!r}")
                        yield message
                return
            except WorkerLost as exc:
                lost.append(str(exc))
                log.warning(
                    "%s %s: its worker was lost (%s); %d turns left", method, user.user_id, exc, len(left)
                )
        reason = f"lost its worker {len(lost)} times; the last time: {lost[-1]}"
        if not fitted:
            yield FitFailed(f"fit: {reason}")
            return
        for item in left:
            yield ItemFailed(item, "WorkerLost", reason)
