"""``simulate --executor ray``: each persona session is a Ray task with models of its own.

The driver (this process, which owns the store) sends a worker the session as it is stored, its
record and turns, with the scenario, the persona, the options and the model configs
(:class:`SessionJob`). The worker builds its models and plays the session on with the inline turn
loop (:func:`sharehouse.simulate.play_session`) against a
:class:`~sharehouse.executors.relay.RelayedStore`, streaming every store write and engine hook
back. The driver commits the writes in order, one transaction each as an inline run commits
them, and hands the hooks to the run's observers (the progress display, the live transcript).

A worker that dies mid-session takes at most the turn it was playing with it: the driver sends the
session as stored to another worker, which resumes it as a restarted inline run would (the same
pending housemate line, the next turn index). After ``max_session_attempts`` lost workers the
session is marked failed, and the next run with the same id retries it.

Each session task reserves ``SHAREHOUSE_THREADS`` CPUs (default 1), and its llama.cpp runs that
many threads; a local cluster gets ``concurrency`` times that many CPUs.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import aclosing, asynccontextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any

from pydantic import BaseModel, ConfigDict

from sharehouse.engine.relevance import default_gate
from sharehouse.engine.session import EngineEvents
from sharehouse.executors.ray_tasks import WorkerLost, WorkerReady, ray_cluster, stream, worker_stream
from sharehouse.executors.relay import (
    HookCall,
    RelayedEvents,
    RelayedStore,
    Send,
    StoreCall,
    apply_hook_call,
    apply_store_call,
)
from sharehouse.llm import ModelConfig
from sharehouse.personas.models import Persona
from sharehouse.scenario import Scenario
from sharehouse.settings import env_name, get_settings
from sharehouse.simulate import ModelPlan, SimulateOptions
from sharehouse.simulate_events import SessionOnWorker, SessionWorkerLost, SimulateEvent
from sharehouse.store import SessionRecord, Store, TurnRecord

log = logging.getLogger(__name__)


class SessionJob(BaseModel):
    """What a worker needs to play one session on from where the store has it."""

    model_config = ConfigDict(frozen=True)

    session: SessionRecord
    turns: list[TurnRecord]
    scenario: Scenario
    persona: Persona
    options: SimulateOptions
    npc: ModelConfig
    user: ModelConfig


def session_cpus() -> int:
    """The CPUs a session task reserves, and its llama.cpp threads: ``SHAREHOUSE_THREADS`` or 1."""
    return get_settings().threads or 1


# -- on the worker ---------------------------------------------------------------------------------
def play_session_task(job: SessionJob) -> Iterator[object]:
    """The Ray task of one session (a streaming generator, :func:`~.ray_tasks.worker_stream`)."""
    yield from worker_stream(partial(_play, job))


async def _play(job: SessionJob, send: Send) -> None:
    from sharehouse.personas.simulated import SimulatedUser
    from sharehouse.simulate import build_planned_model, describe_error, play_session, preload_model

    sid = job.session.id
    store = RelayedStore.holding(job.session, job.turns, send)
    try:
        try:
            npc = build_planned_model(job.npc)
            user = npc if job.user == job.npc else build_planned_model(job.user)
            await preload_model(npc)
            if user is not npc:
                await preload_model(user)
            gate = default_gate() if job.options.relevance_gate else None
        except Exception as exc:  # no model on this worker: the session fails, the run goes on
            store.set_status(sid, "failed", describe_error(exc))
            return
        await play_session(
            store, job.scenario, sid, job.persona, job.options, npc, user, RelayedEvents(send),
            SimulatedUser, gate,
        )  # fmt: skip
    finally:
        store.close()


# -- on the driver ---------------------------------------------------------------------------------
@dataclass
class RaySessions:
    """Plays the run's sessions as Ray tasks (a :class:`sharehouse.simulate.SessionPlayer`)."""

    opts: SimulateOptions
    plan: ModelPlan
    scenario: Scenario
    emit: Callable[[SimulateEvent], None]

    @classmethod
    @asynccontextmanager
    async def started(
        cls, opts: SimulateOptions, plan: ModelPlan, scenario: Scenario, emit: Callable[[SimulateEvent], None]
    ) -> AsyncIterator[RaySessions]:
        """The player, with Ray up (a local cluster unless ``opts.ray_address``) until the run ends."""
        async with ray_cluster(opts.ray_address, cpus=max(1, opts.concurrency) * session_cpus()):
            yield cls(opts, plan, scenario, emit)

    @property
    def models(self) -> dict[str, Any]:
        """What every worker builds: the planned models (one session per model, never batched)."""
        return {"npc": self.plan.npc.model_dump(), "user": self.plan.user.model_dump()}

    async def play(self, store: Store, sid: str, persona: Any, events: EngineEvents) -> None:
        """Play session ``sid`` on a worker, and on another one each time a worker is lost."""
        lost: list[str] = []
        while len(lost) < self.opts.max_session_attempts:
            try:
                return await self._play_on_worker(store, sid, persona, events, attempt=len(lost) + 1)
            except WorkerLost as exc:
                lost.append(str(exc))
                turns = store.turn_counts([sid]).get(sid, 0)
                log.warning(
                    "session %s: its worker was lost (%s); it resumes from %d stored turns", sid, exc, turns
                )
                self.emit(SessionWorkerLost(sid, str(exc), stored_turns=turns))
        store.set_status(sid, "failed", f"lost its worker {len(lost)} times; the last time: {lost[-1]}")

    async def _play_on_worker(
        self, store: Store, sid: str, persona: Any, events: EngineEvents, *, attempt: int
    ) -> None:
        """Send the session as stored to a worker, and commit what it streams back, in order."""
        session = store.get_session(sid)
        if session is None:
            raise KeyError(f"no session {sid!r} in {store.path}")
        job = SessionJob(
            session=session, turns=store.load_turns(sid), scenario=self.scenario, persona=persona,
            options=self.opts, npc=self.plan.npc, user=self.plan.user,
        )  # fmt: skip
        cpus = session_cpus()
        messages = stream(play_session_task, job, cpus=cpus, env={env_name("threads"): str(cpus)})
        async with aclosing(messages):
            async for message in messages:
                match message:
                    case StoreCall():
                        apply_store_call(store, message)
                    case HookCall():
                        apply_hook_call(events, message)
                    case WorkerReady():
                        self.emit(SessionOnWorker(sid, message.name, message.pid, attempt))
                    case _:
                        raise TypeError(f"session {sid}: a worker sent {message!r}")
