"""The personalization-method protocol: fit on one user's history, then predict replies.

A method is registered by name. ``fit`` sees only the user's days 1-4; ``predict`` sees one
day-5 message (and the earlier turns of day 5, as the live conversation would show them).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from sharehouse.llm.base import ChatModel, Completion


@dataclass(frozen=True)
class HistoryTurn:
    day: int
    npc: str
    message: str
    response: str
    mbti: str | None = None  # the MBTI dimension the scenario state probed, when known


@dataclass(frozen=True)
class TestItem:
    session_id: str
    day: int
    idx: int
    npc: str
    message: str
    reference: str  # the user's real reply (never shown to a method)
    context: tuple[HistoryTurn, ...] = ()  # earlier turns of the same day, oldest first


@dataclass
class UserTask:
    user_id: str
    language: str  # en | ja | zh
    session_id: str
    history: list[HistoryTurn]
    tests: list[TestItem]


@dataclass
class Prediction:
    text: str  # cleaned prediction that gets scored
    raw: str  # what the model returned
    prompt: str = ""  # the final prompt (for audits and prompt hashes)
    # every generation behind the prediction; when the method generates outside ``ctx.model`` (the
    # trained methods), the runner takes the tokens and calls from these
    completions: list[Completion] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)  # e.g. "leaked_reasoning", "refusal", "empty"
    params: dict[str, Any] = field(default_factory=dict)  # what the method really used (stored)


@dataclass
class MethodContext:
    """What a method gets besides the user: the model, generation settings, and shared caches."""

    model: ChatModel
    model_spec: str
    seed: int = 0
    temperature: float = 0.7
    max_tokens: int = 160
    top_p: float = 0.95
    extra: dict[str, Any] = field(default_factory=dict)
    store: Any = None  # a sharehouse Store (embedding cache) when the runner has one
    protocol: str = "sharehouse"  # evaluator.protocols: the prompts a protocol-aware method writes


class Predictor(Protocol):
    """What ``fit`` returns: it predicts day-5 replies, and says what fitting produced."""

    @property
    def fit_info(self) -> dict[str, Any]:
        """Stored per user with the run (profile, inferred labels, training record); empty: nothing."""
        ...

    @property
    def fit_completions(self) -> list[Any]:
        """Generations made while fitting outside ``ctx.model`` (counted towards the fit's tokens)."""
        ...

    async def predict(self, item: TestItem) -> Prediction: ...


class Method(Protocol):
    """A personalization method, as the runner and the registry use it."""

    @property
    def name(self) -> str: ...

    @property
    def description(self) -> str: ...

    @property
    def trains(self) -> bool:
        """True for parameter-updating methods (LoRA, DPO, Aligner): local models only."""
        ...

    @property
    def protocols(self) -> tuple[str, ...]:
        """The evaluation protocols it belongs to; () = every one."""
        ...

    def check_options(self, extra: dict[str, Any]) -> None:
        """Raise ``ValueError`` on method options (``--option``) it cannot use, before any work."""
        ...

    def check_model(self, model_spec: str) -> None:
        """Raise ``ValueError`` when it cannot run on ``model_spec`` at all (recorded per user)."""
        ...

    async def fit(self, user: UserTask, ctx: MethodContext) -> Predictor: ...


class MethodBase:
    """The contract's defaults: every protocol, any options; a method that trains runs on local
    models only. Registered methods derive from it and override what they need."""

    name: str
    description: str
    trains: bool = False
    protocols: tuple[str, ...] = ()

    def check_options(self, extra: dict[str, Any]) -> None:
        return None

    def check_model(self, model_spec: str) -> None:
        from sharehouse.llm import parse_spec

        if self.trains and parse_spec(model_spec).backend != "local":
            raise ValueError(f"{self.name} trains weights: local models only")


MethodFactory = Callable[[], Method]
REGISTRY: dict[str, MethodFactory] = {}


def register(name: str) -> Callable[[MethodFactory], MethodFactory]:
    def deco(factory: MethodFactory) -> MethodFactory:
        REGISTRY[name] = factory
        return factory

    return deco
