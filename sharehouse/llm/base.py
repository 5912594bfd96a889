"""The one interface every LLM backend implements.

A backend takes chat messages and returns a :class:`Completion` (text, token usage, latency).
Backends never retry on their own; :mod:`sharehouse.llm.retry` does that in one place.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, TypedDict, runtime_checkable


class Message(TypedDict):
    role: Literal["system", "user", "assistant"]
    content: str


@dataclass
class Completion:
    """What one LLM call produced."""

    text: str
    model: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_s: float = 0.0
    # Prompt tokens actually evaluated by the model (local backend: after KV-cache reuse).
    evaluated_prompt_tokens: int | None = None
    attempts: int = 1
    raw: dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass
class GenParams:
    """Generation settings for one call."""

    max_tokens: int = 160
    temperature: float = 0.7
    top_p: float = 0.95
    seed: int | None = None
    stop: list[str] = field(default_factory=list)
    # A JSON schema: the backend must return a JSON document matching it.
    json_schema: dict[str, Any] | None = None
    # Streaming callback, called with each new piece of text as it is generated.
    on_token: Callable[[str], None] | None = None


class LLMError(RuntimeError):
    """A call that failed for good (bad request, auth, model missing, retries exhausted)."""


class TransientLLMError(LLMError):
    """A call that may succeed if tried again (timeout, 429, 5xx, dropped or garbled reply)."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@runtime_checkable
class ChatModel(Protocol):
    """Messages in; text, usage and latency out."""

    name: str

    async def complete(self, messages: list[Message], params: GenParams) -> Completion:
        """Run one chat completion. Raises LLMError / TransientLLMError."""
        ...

    def close(self) -> None:
        """Release resources (threads, model memory)."""
        ...
