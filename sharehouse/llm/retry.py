"""Retries with exponential backoff, in one place, around any ChatModel."""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass

from sharehouse.llm.base import ChatModel, Completion, GenParams, LLMError, Message, TransientLLMError


@dataclass
class RetryPolicy:
    max_attempts: int = 4
    base_delay_s: float = 0.5
    max_delay_s: float = 20.0
    jitter: float = 0.25

    def delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None and retry_after >= 0:
            return min(retry_after, self.max_delay_s * 3)
        d = min(self.base_delay_s * (2 ** (attempt - 1)), self.max_delay_s)
        return d * (1 + random.uniform(-self.jitter, self.jitter))


class RetryingModel:
    """Wraps a ChatModel: transient errors are retried; the final error names every attempt."""

    def __init__(self, inner: ChatModel, policy: RetryPolicy | None = None) -> None:
        self.inner = inner
        self.policy = policy or RetryPolicy()
        self.name = inner.name
        self.retries = 0  # how many retries this wrapper has made, for reports

    def __getattr__(self, item: str) -> object:
        return getattr(self.inner, item)

    async def complete(self, messages: list[Message], params: GenParams) -> Completion:
        errors: list[str] = []
        for attempt in range(1, self.policy.max_attempts + 1):
            try:
                result = await self.inner.complete(messages, params)
                result.attempts = attempt
                return result
            except TransientLLMError as exc:
                errors.append(f"attempt {attempt}: {exc}")
                if attempt == self.policy.max_attempts:
                    break
                self.retries += 1
                await asyncio.sleep(self.policy.delay(attempt, exc.retry_after))
        raise LLMError(
            f"{self.name}: gave up after {self.policy.max_attempts} attempts ({'; '.join(errors)})"
        )

    def close(self) -> None:
        self.inner.close()
