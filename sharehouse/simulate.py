"""The batch runner: simulated users from personas play the scenario, concurrently and resumably.

A run has an id; each persona gets one session with a deterministic id inside it, so a killed run
restarted with the same id continues every unfinished session at its stored position and never
creates a second session for a persona. A session that keeps failing (or raises anything else) is
marked failed with its reason and the batch goes on; the next run with the same id retries it.

On the local backend, ``batched`` (``--batched``, or a model spec ending in ``+batch``) decodes the
concurrent sessions together in the batched multi-sequence model (:mod:`sharehouse.llm.batch`, one
llama.cpp sequence per concurrent session). It is off by default because it was not faster on the
two-core machine this project targets (one llama.cpp thread, local:small, one day, temperature 0,
load average about 3): 2 personas at concurrency 2 played 2.49 turns/min batched against 2.53
plain, 4 at concurrency 4 3.19 against 3.67 (generated tokens per CPU second 4.53 vs 3.53 and 4.02
vs 4.17; the dialogues differ a little, so turns and tokens differ too). On one
CPU thread a batch of 4 tokens costs 22.9 ms per token against 34.8 ms for one (at most 1.5x), and
a turn's work is mostly evaluating new prompt tokens (400-550 per turn against about 60 generated),
which batching does not speed up.
"""

from __future__ import annotations

import asyncio
import logging
import time
import traceback
import zlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel, model_validator

from sharehouse.engine.checks import CheckResult
from sharehouse.engine.npc import HousemateMode
from sharehouse.engine.relevance import RelevanceGate, default_gate
from sharehouse.engine.session import EngineEvents, EngineParams, SessionRunner, SessionStore, start_session
from sharehouse.executors import DEFAULT_EXECUTOR, Executor, check_executor
from sharehouse.llm import GenParams, LLMError, ModelConfig, parse_spec
from sharehouse.llm.base import ChatModel
from sharehouse.llm.registry import build_model, clamp_sequences
from sharehouse.scenario import Scenario, State, load_scenario
from sharehouse.scenario.load import default_scenario_path
from sharehouse.simulate_events import (
    RunFinished,
    RunStarted,
    SessionFailed,
    SessionFinished,
    SessionSkipped,
    SessionStarted,
    SessionWorkerLost,
    SimulateEvent,
    SimulateObserver,
    TurnCommitted,
)
from sharehouse.store import Store, StoreError, TurnRecord

log = logging.getLogger(__name__)

# Run statuses: every selected session complete / some still active / none active, some failed.
RUN_COMPLETE, RUN_INCOMPLETE, RUN_FAILED_SESSIONS = "complete", "incomplete", "failed-sessions"
# Batched decoding on local models unless asked: off, it was not faster here (module docstring).
DEFAULT_BATCHED = False


class SimulateOptions(BaseModel):
    n_personas: int | None = None
    persona_ids: list[str] = []
    persona_file: Path | None = None
    language: str | None = None
    model: str = "local"
    user_model: str | None = None
    api_base: str | None = None
    concurrency: int = 4
    seed: int = 0
    temperature: float = 0.7
    run_id: str | None = None
    resume: bool = True
    retry_failed: bool = True
    days: int = 5
    scenario: Path | None = None
    print_transcripts: bool = False
    progress: bool = True
    max_session_attempts: int = 3
    ram_cache_bytes: int | None = None  # local backend: KV states kept for interleaved sessions
    # Local backend: decode concurrent sessions together (one llama.cpp sequence each).
    # None = DEFAULT_BATCHED unless the spec ends in ``+batch``; False with a ``+batch`` spec is an error.
    batched: bool | None = None
    # The check's relevance gate: a reply unrelated to the line gets a follow-up (engine.relevance).
    relevance_gate: bool = True
    # How a housemate line is written (engine.npc): a reaction, then the scenario's question; or all of it.
    housemates: HousemateMode = "react"
    # Where the sessions play (sharehouse.executors): in this process, or each as a Ray task on a
    # cluster at ``ray_address`` (None: a local cluster of ``concurrency`` CPUs, for this run).
    executor: Executor = DEFAULT_EXECUTOR
    ray_address: str | None = None

    @model_validator(mode="after")
    def _executor(self) -> SimulateOptions:
        check_executor(self.executor, self.ray_address)
        return self


@dataclass
class SessionStat:
    """One session of the run as this invocation saw it (the summary table's row)."""

    persona: str
    language: str
    status: str  # running | complete | active | failed
    turns: int = 0
    seconds: float = 0.0
    reason: str | None = None  # why it failed
    note: str = ""  # resumed, complete before this run, not retried, ...
    workers_lost: int = 0  # --executor ray: its workers that died (it resumed on another each time)


@dataclass
class RunStats:
    """The run so far, counted from its events (:meth:`apply`); a caller may read it while the run goes."""

    total: int = 0
    done: int = 0  # sessions complete or at the end of the requested days (incl. complete earlier)
    failed: int = 0  # sessions failed now, or failed earlier and left alone
    skipped: int = 0  # sessions not played by this invocation (complete earlier, not resumed/retried)
    earlier_complete: int = 0  # of ``skipped``: complete before this invocation
    settled: int = 0  # sessions this invocation is finished with (played or skipped)
    running: int = 0  # sessions playing now: the unsettled ones, at most ``concurrency`` (the rest wait)
    turns: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    started: float = field(default_factory=time.perf_counter)
    per_session: dict[str, SessionStat] = field(default_factory=dict)
    concurrency: int | None = None  # sessions played at once (None: no limit known)
    unsettled: int = 0  # sessions started and not yet finished or failed: playing, or waiting for a slot
    workers_lost: int = 0  # --executor ray: workers that died while playing a session (it resumed)

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def eta(self) -> float | None:
        """Seconds left, from the time per session played so far (skipped sessions take none)."""
        todo = self.total - self.settled
        if todo <= 0:
            return 0.0
        played = self.settled - self.skipped
        return self.elapsed() / played * todo if played > 0 else None

    def apply(self, event: SimulateEvent) -> None:
        """Count one event of the run (:mod:`sharehouse.simulate_events`)."""
        match event:
            case RunStarted():
                self.total, self.concurrency = event.sessions, event.concurrency
                self.started = time.perf_counter()  # rates and the ETA count playing, not loading the model
            case SessionSkipped():
                self.per_session[event.session_id] = SessionStat(
                    persona=event.persona_id, language=event.language, status=event.status,
                    turns=event.turns, reason=event.reason, note=event.note,
                )  # fmt: skip
                self.skipped += 1
                self.settled += 1
                if event.status == "complete":
                    self.done += 1
                    self.earlier_complete += 1
                elif event.status == "failed":
                    self.failed += 1
            case SessionStarted():
                self.per_session[event.session_id] = SessionStat(
                    persona=event.persona_id, language=event.language, status="running",
                    note="resumed" if event.resumed else "",
                )  # fmt: skip
                self._unsettled(1)
            case TurnCommitted():
                self.turns += 1
                self.prompt_tokens += event.prompt_tokens
                self.completion_tokens += event.completion_tokens
                self.per_session[event.session_id].turns += 1
            case SessionWorkerLost():
                self.workers_lost += 1
                self.per_session[event.session_id].workers_lost += 1
            case SessionFinished() | SessionFailed():
                row = self.per_session[event.session_id]
                row.turns, row.seconds = event.turns, event.seconds
                self.settled += 1
                if isinstance(event, SessionFailed):
                    row.status, row.reason = "failed", event.reason
                    self.failed += 1
                else:
                    row.status = event.status
                    self.done += 1
                self._unsettled(-1)

    def _unsettled(self, n: int) -> None:
        # A started session waits for a slot only while ``concurrency`` others play (a freed slot
        # goes to a waiting session at once), so the sessions playing are the first ``concurrency``.
        self.unsettled += n
        cap = self.concurrency
        self.running = self.unsettled if cap is None else min(self.unsettled, cap)


@dataclass
class SimulateResult:
    run_id: str
    stats: RunStats
    session_ids: list[str]
    status: str = RUN_INCOMPLETE


#: Builds a face's observer of one session (session id, persona), e.g. a live transcript printer.
EventsFactory = Callable[[str, Any], EngineEvents]


class _SessionEvents(EngineEvents):
    """One session's engine hooks: each committed turn becomes a :class:`TurnCommitted` run event,
    and the hooks are passed on to a face's observer of the session (the live transcript)."""

    def __init__(
        self, sid: str, emit: Callable[[SimulateEvent], None], inner: EngineEvents | None = None
    ) -> None:
        self.sid, self.emit = sid, emit
        self.inner = inner or EngineEvents()
        self.turns = 0

    def npc_message(self, npc_id: str, text: str, state: State, follow_up: bool) -> None:
        self.inner.npc_message(npc_id, text, state, follow_up)

    def turn_committed(self, turn: TurnRecord, check: CheckResult) -> None:
        if turn.npc_rejected:
            log.debug(
                "session %s day %d turn %d: %d %s line(s) rejected before the shown one: %s",
                self.sid, turn.day, turn.idx, turn.npc_rejected, turn.npc, turn.npc_reject_reasons,
            )  # fmt: skip
        self.turns += 1
        latencies = (turn.npc_latency_s, turn.user_latency_s, turn.check_latency_s)
        self.emit(
            TurnCommitted(
                session_id=self.sid, day=turn.day, idx=turn.idx, state_id=turn.state_id, verdict=turn.verdict,
                followup=turn.is_followup, prompt_tokens=turn.prompt_tokens or 0,
                completion_tokens=turn.completion_tokens or 0, seconds=sum(x or 0.0 for x in latencies),
            )
        )  # fmt: skip
        self.inner.turn_committed(turn, check)

    def day_finished(self, day: int) -> None:
        self.inner.day_finished(day)


def select_personas(opts: SimulateOptions) -> list[Any]:
    from sharehouse.personas.io import default_personas_path, load_personas

    personas = load_personas(opts.persona_file or default_personas_path())
    if opts.persona_ids:
        by_id = {p.id: p for p in personas}
        missing = [i for i in opts.persona_ids if i not in by_id]
        if missing:
            raise ValueError(f"unknown persona id(s): {', '.join(missing)}")
        return [by_id[i] for i in opts.persona_ids]
    if opts.language:
        personas = [p for p in personas if p.language == opts.language]
    n = opts.n_personas if opts.n_personas is not None else min(len(personas), 3)
    if n >= len(personas):
        return personas
    # Round-robin over languages in file order: a small selection still covers en, ja and zh.
    by_lang: dict[str, list[Any]] = {}
    for p in personas:
        by_lang.setdefault(p.language, []).append(p)
    out: list[Any] = []
    i = 0
    while len(out) < n:
        for lang in sorted(by_lang):
            if i < len(by_lang[lang]) and len(out) < n:
                out.append(by_lang[lang][i])
        i += 1
    return out


def new_run_id() -> str:
    return "run-" + datetime.now(UTC).strftime("%Y%m%d-%H%M%S")


def session_id_for(run_id: str, persona_id: str) -> str:
    return f"sim-{run_id}-{persona_id}"


def persona_seed(seed: int, persona_id: str) -> int:
    """The sampling seed of one persona's session: a stable hash (CRC-32) of the run seed and the id."""
    return zlib.crc32(f"{seed}:{persona_id}".encode()) & 0x7FFFFFFF


# -- models ----------------------------------------------------------------------------------------
@dataclass
class ModelPlan:
    """What ``simulate`` builds for the housemates (and checks) and for the simulated users."""

    npc: ModelConfig
    user: ModelConfig

    @property
    def shared(self) -> bool:
        return self.user == self.npc


def _plan_one(spec: str, opts: SimulateOptions) -> ModelConfig:
    cfg = parse_spec(spec, api_base=opts.api_base)
    if cfg.backend != "local":
        return cfg
    if cfg.batched and opts.batched is False:
        raise ValueError(f"--no-batched contradicts the model spec {spec!r}, which asks for batched decoding")
    batched = cfg.batched or (opts.batched if opts.batched is not None else DEFAULT_BATCHED)
    # A Ray worker plays one session at a time with a model of its own; inline, they share one.
    sessions_per_model = 1 if opts.executor == "ray" else opts.concurrency
    if batched and opts.executor == "ray":
        raise ValueError(
            "batched decoding plays the concurrent sessions of one process together; with --executor ray "
            "each worker plays one session (drop --batched / '+batch')"
        )
    ram = opts.ram_cache_bytes
    if ram is None:
        # NPC, simulated-user and check prompts alternate even within one session: keep their KV states.
        ram = (2 << 30) if sessions_per_model > 1 else (1 << 30)
    n_seq = clamp_sequences(opts.concurrency) if batched else None
    return cfg.model_copy(update={"batched": batched, "n_seq": n_seq, "state_cache_bytes": ram})


def plan_models(opts: SimulateOptions) -> ModelPlan:
    """Parse and check the model specs against the options (no model is loaded)."""
    npc = _plan_one(opts.model, opts)
    user = npc if (opts.user_model or opts.model) == opts.model else _plan_one(opts.user_model or "", opts)
    if opts.batched and "local" not in (npc.backend, user.backend):
        raise ValueError(f"--batched needs a local model; {opts.model!r} is served through litellm")
    return ModelPlan(npc=npc, user=user)


def build_planned_model(cfg: ModelConfig) -> ChatModel:
    """The model ``simulate`` uses for a planned config (local models are cached per process)."""
    if cfg.backend != "local":
        return build_model(cfg)
    return build_model(
        cfg, ram_cache_bytes=cfg.state_cache_bytes or 0, batched=cfg.batched, n_seq=cfg.n_seq or 1
    )


def describe_model(model: ChatModel, planned: ModelConfig) -> dict[str, Any]:
    """``planned`` as stored in a session's ``llm_config``, corrected to what ``model`` really is
    (a model handed in by a caller may be batched, plain or remote whatever the options say)."""
    from sharehouse.llm.batch import BatchedLocalModel
    from sharehouse.llm.local import LocalModel

    inner: Any = model
    for _ in range(8):  # unwrap RetryingModel and similar wrappers
        nxt = inner.__dict__.get("inner") if hasattr(inner, "__dict__") else None
        if nxt is None:
            break
        inner = nxt
    if isinstance(inner, BatchedLocalModel):
        cache = inner.state_cache.capacity_bytes if inner.state_cache is not None else 0
        actual = {"backend": "local", "batched": True, "n_seq": inner.n_seq, "state_cache_bytes": cache}
    elif isinstance(inner, LocalModel):
        actual = {
            "backend": "local",
            "batched": False,
            "n_seq": None,
            "state_cache_bytes": inner.ram_cache_bytes,
        }
    else:
        actual = {"batched": False, "n_seq": None, "state_cache_bytes": None}
    return {**planned.model_dump(), **actual}


async def preload_model(model: ChatModel) -> None:
    load = getattr(model, "load", None)
    if callable(load):
        await asyncio.to_thread(load)


# -- the run -----------------------------------------------------------------------------------------
def run_status(store: Store, run_id: str) -> str:
    """``complete`` only when every session of the run is; ``failed-sessions`` when none is active
    but some failed; else ``incomplete``."""
    counts = dict(
        store.fetchall("SELECT status, count(*) FROM sessions WHERE run_id = ? GROUP BY status", [run_id])
    )
    if counts.get("active"):
        return RUN_INCOMPLETE
    if counts.get("failed"):
        return RUN_FAILED_SESSIONS
    return RUN_COMPLETE


class SessionPlayer(Protocol):
    """Plays a stored session on to the end of the requested days: in this process
    (:class:`InlinePlayer`) or as a Ray task (:class:`sharehouse.executors.ray_sessions.RaySessions`)."""

    @property
    def models(self) -> dict[str, Any]:
        """The models as each new session records them in its ``llm_config`` (``npc``, ``user``)."""
        ...

    async def play(self, store: Store, sid: str, persona: Any, events: EngineEvents) -> None: ...


@dataclass
class InlinePlayer:
    """Plays the sessions in this process, on models they share."""

    scenario: Scenario
    opts: SimulateOptions
    npc_model: ChatModel
    user_model: ChatModel
    gate: RelevanceGate | None
    models: dict[str, Any]

    async def play(self, store: Store, sid: str, persona: Any, events: EngineEvents) -> None:
        from sharehouse.personas.simulated import SimulatedUser

        await play_session(
            store, self.scenario, sid, persona, self.opts, self.npc_model, self.user_model, events,
            SimulatedUser, self.gate,
        )  # fmt: skip


@asynccontextmanager
async def open_player(
    opts: SimulateOptions,
    plan: ModelPlan,
    scenario: Scenario,
    emit: Callable[[SimulateEvent], None],
    *,
    npc_model: ChatModel | None = None,
    user_model: ChatModel | None = None,
) -> AsyncIterator[SessionPlayer]:
    """The run's player, ready to play: inline with its models loaded (or the ones handed in), or
    on Ray with the cluster up until the run ends."""
    if opts.executor == "ray":
        from sharehouse.executors.ray_sessions import RaySessions

        if npc_model is not None or user_model is not None:
            raise ValueError("--executor ray builds the models on its workers; none can be handed in")
        async with RaySessions.started(opts, plan, scenario, emit) as player:
            yield player
        return
    npc_model = npc_model or build_planned_model(plan.npc)
    if user_model is None:
        user_model = npc_model if plan.shared else build_planned_model(plan.user)
    await preload_model(npc_model)
    if user_model is not npc_model:
        await preload_model(user_model)
    models = {"npc": describe_model(npc_model, plan.npc), "user": describe_model(user_model, plan.user)}
    gate = default_gate() if opts.relevance_gate else None
    yield InlinePlayer(scenario, opts, npc_model, user_model, gate, models)


async def run_simulate(
    store: Store,
    opts: SimulateOptions,
    *,
    scenario: Scenario | None = None,
    npc_model: ChatModel | None = None,
    user_model: ChatModel | None = None,
    stats: RunStats | None = None,
    events_for: EventsFactory | None = None,
    observer: SimulateObserver | None = None,
) -> SimulateResult:
    """Play (or resume) every selected persona's session in run ``opts.run_id``. ``observer`` gets
    the run's events (:mod:`sharehouse.simulate_events`) as they happen, and ``stats`` (the result's)
    is counted from the same events; ``events_for`` gives each played session an engine-level
    observer (the CLI's live transcript). The sessions play where ``opts.executor`` says; the
    models handed in are for the inline executor."""
    scenario = scenario or load_scenario(opts.scenario or default_scenario_path())
    personas = select_personas(opts)
    run_id = opts.run_id or new_run_id()
    plan = plan_models(opts)
    run_stats = stats if stats is not None else RunStats()

    def emit(event: SimulateEvent) -> None:
        run_stats.apply(event)
        if observer is not None:
            observer(event)

    async with open_player(opts, plan, scenario, emit, npc_model=npc_model, user_model=user_model) as player:
        llm_config = {**player.models, "temperature": opts.temperature, "seed": opts.seed,
                      "housemates": opts.housemates}  # fmt: skip
        store.upsert_run(run_id, "simulate", {**opts.model_dump(mode="json"), "run_id": run_id})
        log.info(
            "run %s: %d personas, %d days, concurrency %d, executor %s, npc model %s, user model %s", run_id,
            len(personas), opts.days, opts.concurrency, opts.executor, plan.npc.spec, plan.user.spec,
        )  # fmt: skip
        concurrency = max(1, opts.concurrency)
        emit(RunStarted(run_id=run_id, sessions=len(personas), concurrency=concurrency))
        sem = asyncio.Semaphore(concurrency)
        session_ids: list[str] = []

        def skip(sid: str, persona: Any, status: str, note: str, reason: str | None = None) -> None:
            turns = store.turn_counts([sid]).get(sid, 0)
            emit(SessionSkipped(sid, persona.id, persona.language, status, turns, note, reason))

        async def play(persona: Any) -> None:
            sid = session_id_for(run_id, persona.id)
            session_ids.append(sid)
            rec = store.get_session(sid)
            if rec is not None and rec.status == "complete":
                return skip(sid, persona, "complete", "complete before this run")
            if rec is not None and not opts.resume:
                return skip(sid, persona, rec.status, "not resumed (--no-resume)", rec.failure_reason)
            if rec is not None and rec.status == "failed" and not opts.retry_failed:
                return skip(sid, persona, "failed", "not retried (--no-retry-failed)", rec.failure_reason)
            emit(SessionStarted(sid, persona.id, persona.language, resumed=rec is not None))
            log.info(
                "session %s (%s, %s) %s", sid, persona.id, persona.language, "resumed" if rec else "started"
            )
            error: str | None = None
            events = _SessionEvents(sid, emit)
            seconds = 0.0
            try:
                if rec is not None and rec.status == "failed":
                    store.set_status(sid, "active", None)
                if rec is None:
                    start_session(
                        store, scenario, kind="simulated", source="simulate", user_id=persona.id,
                        language=persona.language, run_id=run_id, persona_id=persona.id,
                        llm_config=llm_config, session_id=sid,
                    )  # fmt: skip
                async with sem:
                    began = time.perf_counter()
                    try:
                        if events_for is not None:  # asked for once the session has its slot
                            events.inner = events_for(sid, persona)
                        await player.play(store, sid, persona, events)
                    finally:
                        seconds = time.perf_counter() - began
            except StoreError:
                raise
            except Exception as exc:  # anything one session raises fails that session, not the batch
                error = describe_error(exc)
                if store.get_session(sid) is not None:
                    store.set_status(sid, "failed", error)
            final = store.get_session(sid)
            status = final.status if final else "failed"
            if status == "failed":
                reason = (final.failure_reason if final else None) or error or ""
                log.warning("session %s (%s) failed: %s", sid, persona.id, reason)
                emit(SessionFailed(sid, reason, turns=events.turns, seconds=seconds))
            else:
                emit(SessionFinished(sid, status, turns=events.turns, seconds=seconds))

        tasks = [asyncio.create_task(play(p)) for p in personas]
        status = RUN_INCOMPLETE
        try:
            await asyncio.gather(*tasks)
        except BaseException:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
        finally:
            status = run_status(store, run_id)
            store.set_run_status(run_id, status)
    emit(RunFinished(run_id=run_id, status=status, failed=run_stats.failed, turns=run_stats.turns))
    return SimulateResult(run_id=run_id, stats=run_stats, session_ids=session_ids, status=status)


def describe_error(exc: BaseException, limit: int = 500) -> str:
    """``Type: message (at file:line)`` of the innermost frame, for a session's failure reason."""
    text = f"{type(exc).__name__}: {exc}"
    frames = traceback.extract_tb(exc.__traceback__)
    if frames and not isinstance(exc, LLMError):
        last = frames[-1]
        text += f" (at {Path(last.filename).name}:{last.lineno})"
    return text[:limit]


async def play_session(
    store: SessionStore,
    scenario: Scenario,
    sid: str,
    persona: Any,
    opts: SimulateOptions,
    npc_model: ChatModel,
    user_model: ChatModel,
    events: EngineEvents,
    user_cls: Any,
    gate: RelevanceGate | None = None,
) -> None:
    """Play one session to the end of the requested days; model failures are tried again up to
    ``max_session_attempts`` times, any other error marks the session failed at once."""
    seed = persona_seed(opts.seed, persona.id)
    last_error = ""
    for _attempt in range(opts.max_session_attempts):
        store.bump_attempts(sid)
        try:
            user = user_cls(persona, user_model, seed=seed, temperature=opts.temperature, sides=gate)
            runner = SessionRunner(
                store, scenario, sid, npc_model=npc_model, user=user, events=events,
                params=EngineParams(
                    npc=GenParams(max_tokens=140, temperature=opts.temperature), seed=seed, relevance=gate,
                    housemates=opts.housemates,
                ),
            )  # fmt: skip
            while not runner.finished and (runner.fsm.day or 99) <= opts.days:
                await runner.step()
            return
        except (TimeoutError, LLMError) as exc:
            last_error = describe_error(exc)
            await asyncio.sleep(0.2)
        except StoreError:
            raise
        except Exception as exc:  # a bug or bad data: trying again would fail the same way
            last_error = describe_error(exc)
            break
    store.set_status(sid, "failed", last_error or "unknown error")
