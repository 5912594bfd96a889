"""What an evaluation run reports while it goes: frozen event records and the observer protocol.

The runner (:func:`evaluator.runner.run_evaluation_async`) calls its observer with one of these
per step; the CLI and the evaluator screen are observers (the screen's
:class:`~sharehouse.tui.evaluator.progress.RunProgress` counts them per method × model). Each
event has a ``kind`` (its name in logs) and :meth:`data` (its fields as a dict).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, ClassVar, Protocol


@dataclass(frozen=True)
class EvalEvent:
    kind: ClassVar[str] = "event"

    def data(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ModelLoaded(EvalEvent):
    """A model was loaded (lazily, at its first call): ``role`` predict or judge."""

    kind: ClassVar[str] = "model_loaded"
    model: str
    role: str = "predict"


@dataclass(frozen=True)
class MethodStarted(EvalEvent):
    """A method × model starts: ``total`` day-5 turns over its ``seeds`` (stored ones included)."""

    kind: ClassVar[str] = "method_started"
    method: str
    model: str
    total: int
    seeds: int = 1


@dataclass(frozen=True)
class Skipped(EvalEvent):
    """A day-5 turn already predicted in this run (resume): nothing is called."""

    kind: ClassVar[str] = "skipped"
    method: str
    model: str
    seed: int
    session_id: str
    idx: int


@dataclass(frozen=True)
class Predicted(EvalEvent):
    """One day-5 turn predicted and stored."""

    kind: ClassVar[str] = "predicted"
    method: str
    model: str
    seed: int
    user: str
    session_id: str
    idx: int
    llm_calls: int
    cached_calls: int
    latency_s: float
    flagged: bool = False  # the stored prediction carries a flag (refusal, leak, empty, ...)


@dataclass(frozen=True)
class PredictionFailed(EvalEvent):
    """One turn's prediction failed (the error is stored; the run goes on)."""

    kind: ClassVar[str] = "prediction_failed"
    method: str
    model: str
    seed: int
    user: str
    error: str


@dataclass(frozen=True)
class UserFailed(EvalEvent):
    """A method could not be fitted to a user: none of the user's ``turns`` left is predicted."""

    kind: ClassVar[str] = "user_failed"
    method: str
    model: str
    seed: int
    user: str
    error: str
    turns: int = 0


@dataclass(frozen=True)
class MethodSkipped(EvalEvent):
    """A method cannot run on a model (e.g. training on an API model), with the reason."""

    kind: ClassVar[str] = "method_skipped"
    method: str
    model: str
    reason: str


@dataclass(frozen=True)
class Scoring(EvalEvent):
    """A method × model's predictions are being scored."""

    kind: ClassVar[str] = "scoring"
    method: str
    model: str


@dataclass(frozen=True)
class Scored(EvalEvent):
    """A method × model's predictions were scored with M1–M6."""

    kind: ClassVar[str] = "scored"
    method: str
    model: str
    predictions: int


@dataclass(frozen=True)
class RunFinished(EvalEvent):
    """The run ended; ``errors``: predictions and users that failed."""

    kind: ClassVar[str] = "finished"
    run_id: str
    errors: int


class EvalObserver(Protocol):
    def __call__(self, event: EvalEvent) -> None: ...
