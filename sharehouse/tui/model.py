"""A ChatModel that is built on its first call, off the event loop.

The game screen can show a resumed session (its stored turns and the pending housemate line)
without loading anything; the model is only built when it is first needed, in a thread, with
callbacks so the screen can say that the housemates are waking up.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from sharehouse.llm.base import ChatModel, Completion, GenParams, LLMError, Message


class LazyModel:
    """Wraps ``factory()``; :meth:`complete` builds the model once, then delegates to it.

    A factory that fails raises :class:`LLMError`, so the engine treats it like any model failure
    (a reply being judged is still accepted and committed)."""

    def __init__(
        self,
        factory: Callable[[], ChatModel],
        *,
        name: str = "lazy",
        on_loading: Callable[[bool], None] | None = None,
    ) -> None:
        self.factory = factory
        self.name = name
        self.on_loading = on_loading
        self._model: ChatModel | None = None
        self._lock = asyncio.Lock()

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def _build(self) -> ChatModel:
        model = self.factory()
        load = getattr(model, "load", None)  # local models: read the weights now, not on the first token
        if callable(load):
            load()
        return model

    async def get(self) -> ChatModel:
        async with self._lock:
            if self._model is None:
                if self.on_loading is not None:
                    self.on_loading(True)
                try:
                    self._model = await asyncio.to_thread(self._build)
                    self.name = self._model.name
                except LLMError:
                    raise
                except Exception as exc:  # a missing package or file: an LLM failure the engine handles
                    raise LLMError(f"cannot load the model {self.name}: {exc}") from exc
                finally:
                    if self.on_loading is not None:
                        self.on_loading(False)
            return self._model

    async def complete(self, messages: list[Message], params: GenParams) -> Completion:
        model = await self.get()
        return await model.complete(messages, params)

    def close(self) -> None:
        """Local models are shared by the whole process (see :mod:`sharehouse.llm.registry`): keep them."""
