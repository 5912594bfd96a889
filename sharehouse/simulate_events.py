"""What a simulate run reports while it goes: frozen event records and the observer protocol.

:func:`sharehouse.simulate.run_simulate` calls its observer with one of these per step, in this
order: :class:`RunStarted`; per session either :class:`SessionSkipped` or :class:`SessionStarted`,
one :class:`TurnCommitted` per turn stored, then :class:`SessionFinished` or
:class:`SessionFailed`; :class:`RunFinished` when every session is settled (not when the run is
cancelled or the store fails). With ``--executor ray`` a played session also reports
:class:`SessionOnWorker` when a worker takes it up, and :class:`SessionWorkerLost` when that worker
dies before the session is played (it is then taken up again). The run's :class:`~sharehouse.simulate.RunStats` are counted from
these events, and the ``simulate`` command's progress display is an observer of them. Each event
has a ``kind`` (its name in logs) and :meth:`data` (its fields as a dict), like
:mod:`evaluator.events`.

An observer is called on the event loop, inside the run: it should return quickly and not raise (an
exception while a session plays fails that session, as any other would).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, ClassVar, Protocol


@dataclass(frozen=True)
class SimulateEvent:
    kind: ClassVar[str] = "event"

    def data(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class RunStarted(SimulateEvent):
    """The models are loaded and the run's ``sessions`` (one per selected persona) begin; at most
    ``concurrency`` of them play at once."""

    kind: ClassVar[str] = "run_started"
    run_id: str
    sessions: int
    concurrency: int


@dataclass(frozen=True)
class SessionSkipped(SimulateEvent):
    """A session this run leaves as it is: complete earlier, or not resumed / not retried by the
    options (``note`` says which); ``turns`` are the ones it has stored."""

    kind: ClassVar[str] = "session_skipped"
    session_id: str
    persona_id: str
    language: str
    status: str  # complete | active | failed
    turns: int
    note: str
    reason: str | None = None  # why it failed earlier


@dataclass(frozen=True)
class SessionStarted(SimulateEvent):
    """The run takes a session up: created now, or ``resumed`` at its stored position (a failed one
    is set active again). It may still wait for a concurrency slot before its first turn."""

    kind: ClassVar[str] = "session_started"
    session_id: str
    persona_id: str
    language: str
    resumed: bool


@dataclass(frozen=True)
class TurnCommitted(SimulateEvent):
    """One turn stored (the store's transaction has committed it). ``seconds``: its model time, the
    housemate line, the reply and the check together."""

    kind: ClassVar[str] = "turn_committed"
    session_id: str
    day: int
    idx: int
    state_id: str | None
    verdict: str | None
    followup: bool
    prompt_tokens: int
    completion_tokens: int
    seconds: float


@dataclass(frozen=True)
class SessionOnWorker(SimulateEvent):
    """``--executor ray``: a worker took the session up, ``attempt`` 1 at first and one more after
    each lost worker; ``worker`` is the worker's node address and process id (``pid``)."""

    kind: ClassVar[str] = "session_on_worker"
    session_id: str
    worker: str
    pid: int
    attempt: int


@dataclass(frozen=True)
class SessionWorkerLost(SimulateEvent):
    """``--executor ray``: the worker playing the session died (``reason``, Ray's error). The
    session keeps its ``stored_turns`` and resumes from them on another worker."""

    kind: ClassVar[str] = "session_worker_lost"
    session_id: str
    reason: str
    stored_turns: int


@dataclass(frozen=True)
class SessionFinished(SimulateEvent):
    """A session played to the end of the requested days: ``status`` ``complete`` (all five days) or
    ``active`` (days left for a later run); ``turns`` played and ``seconds`` spent by this run."""

    kind: ClassVar[str] = "session_finished"
    session_id: str
    status: str
    turns: int
    seconds: float


@dataclass(frozen=True)
class SessionFailed(SimulateEvent):
    """A session is marked failed with its ``reason`` (stored); the run goes on, and the next run
    with the same id retries it. ``turns`` played and ``seconds`` spent by this run before."""

    kind: ClassVar[str] = "session_failed"
    session_id: str
    reason: str
    turns: int
    seconds: float


@dataclass(frozen=True)
class RunFinished(SimulateEvent):
    """Every session is settled; ``status`` is the run's stored status (complete, incomplete,
    failed-sessions), ``failed`` the sessions failed now or left failed, ``turns`` played now."""

    kind: ClassVar[str] = "run_finished"
    run_id: str
    status: str
    failed: int
    turns: int


class SimulateObserver(Protocol):
    def __call__(self, event: SimulateEvent) -> None: ...
