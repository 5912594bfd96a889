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
    """What ``fit`` returns. It may also carry ``fit_info`` (a dict stored per user: profile,
    inferred labels, training record) and ``fit_completions`` (generations made while fitting
    outside ``ctx.model``, counted towards the fit's tokens)."""

    async def predict(self, item: TestItem) -> Prediction: ...


class Method(Protocol):
    name: str
    description: str
    trains: bool  # True for parameter-updating methods (LoRA, DPO, Aligner): local models only
    # optional ``protocols``: the evaluation protocols the method belongs to (absent: every one)

    async def fit(self, user: UserTask, ctx: MethodContext) -> Predictor: ...


MethodFactory = Callable[[], Method]
REGISTRY: dict[str, MethodFactory] = {}


def register(name: str) -> Callable[[MethodFactory], MethodFactory]:
    def deco(factory: MethodFactory) -> MethodFactory:
        REGISTRY[name] = factory
        return factory

    return deco


def get_method(name: str) -> Method:
    from evaluator.methods import load_all

    load_all()
    try:
        return REGISTRY[name]()
    except KeyError:
        raise KeyError(f"unknown method {name!r}; known: {', '.join(sorted(REGISTRY))}") from None
