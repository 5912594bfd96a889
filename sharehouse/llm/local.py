"""The local backend: a GGUF model run in-process by llama-cpp-python.

One model instance serves every caller through a single worker thread (llama.cpp cannot run two
completions on one context), so asyncio callers queue up instead of blocking the event loop.
The KV cache of the previous call is reused when the next prompt shares its prefix; with
``ram_cache_bytes`` set, the states of several interleaved sessions are kept and restored.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from sharehouse.llm.base import Completion, GenParams, LLMError, Message, TransientLLMError


class LocalModel:
    """A ChatModel over llama-cpp-python."""

    def __init__(
        self,
        path: str | Path,
        *,
        name: str | None = None,
        n_ctx: int = 4096,
        n_threads: int | None = None,
        n_batch: int = 256,
        ram_cache_bytes: int = 0,
        timeout_s: float = 300.0,
        seed: int = 0,
    ) -> None:
        self.path = Path(path)
        if not self.path.exists():
            raise LLMError(f"no GGUF model file at {self.path}")
        self.name = name or f"local:{self.path.name}"
        self.n_ctx = n_ctx
        self.n_threads = n_threads or int(os.environ.get("SHAREHOUSE_THREADS", 0)) or max(1, os.cpu_count() or 1)
        self.n_batch = n_batch
        self.ram_cache_bytes = ram_cache_bytes
        self.timeout_s = timeout_s
        self.seed = seed
        self._llm: Any = None
        self._load_lock = threading.Lock()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="llama")
        self.calls = 0
        self.total_prompt_tokens = 0
        self.total_evaluated_tokens = 0

    # -- loading ----------------------------------------------------------------------------
    def _ensure_loaded(self) -> Any:
        with self._load_lock:
            if self._llm is None:
                from llama_cpp import Llama

                try:
                    self._llm = Llama(
                        model_path=str(self.path),
                        n_ctx=self.n_ctx,
                        n_threads=self.n_threads,
                        n_threads_batch=self.n_threads,
                        n_batch=self.n_batch,
                        seed=self.seed,
                        verbose=False,
                    )
                except (ValueError, RuntimeError) as exc:
                    raise LLMError(f"cannot load the GGUF model {self.path}: {exc}") from exc
                if self.ram_cache_bytes:
                    from llama_cpp import LlamaRAMCache

                    self._llm.set_cache(LlamaRAMCache(capacity_bytes=self.ram_cache_bytes))
            return self._llm

    def load(self) -> None:
        """Load the weights now (otherwise they load on the first call)."""
        self._ensure_loaded()

    @property
    def llama(self) -> Any:
        return self._ensure_loaded()

    def count_tokens(self, text: str) -> int:
        return len(self.llama.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    # -- completion -------------------------------------------------------------------------
    def _perf_reset(self, llm: Any) -> None:
        with contextlib.suppress(Exception):
            import llama_cpp

            llama_cpp.llama_perf_context_reset(llm._ctx.ctx)

    def _perf_prompt_evals(self, llm: Any) -> int | None:
        try:
            import llama_cpp

            data = llama_cpp.llama_perf_context(llm._ctx.ctx)
            return int(data.n_p_eval)
        except Exception:
            return None

    def _complete_sync(self, messages: list[Message], params: GenParams) -> Completion:
        llm = self._ensure_loaded()
        kwargs: dict[str, Any] = {
            "messages": messages,
            "max_tokens": params.max_tokens,
            "temperature": params.temperature,
            "top_p": params.top_p,
            "stop": list(params.stop) or None,
            "seed": params.seed if params.seed is not None else self.seed,
            "repeat_penalty": 1.1,
        }
        if params.json_schema is not None:
            kwargs["response_format"] = {"type": "json_object", "schema": params.json_schema}
        started = time.perf_counter()
        deadline = started + self.timeout_s
        self._perf_reset(llm)
        pieces: list[str] = []
        finish = None
        try:
            stream = llm.create_chat_completion(stream=True, **kwargs)
            for chunk in stream:
                choice = chunk["choices"][0]
                delta = choice.get("delta", {}).get("content")
                if delta:
                    pieces.append(delta)
                    if params.on_token is not None:
                        params.on_token(delta)
                finish = choice.get("finish_reason") or finish
                if time.perf_counter() > deadline:
                    raise TransientLLMError(f"{self.name}: generation exceeded {self.timeout_s:.0f} s")
        except ValueError as exc:  # e.g. prompt longer than the context window
            raise LLMError(f"{self.name}: {exc}") from exc
        latency = time.perf_counter() - started
        text = "".join(pieces)
        prompt_tokens = len(llm.tokenize(_render_for_count(messages).encode("utf-8"), add_bos=False, special=True))
        completion_tokens = len(llm.tokenize(text.encode("utf-8"), add_bos=False, special=False)) if text else 0
        evaluated = self._perf_prompt_evals(llm)
        self.calls += 1
        self.total_prompt_tokens += prompt_tokens
        self.total_evaluated_tokens += evaluated or 0
        if params.json_schema is not None:
            try:
                json.loads(text)
            except ValueError as exc:
                raise TransientLLMError(f"{self.name}: model returned invalid JSON: {text[:200]!r}") from exc
        return Completion(
            text=text,
            model=self.name,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            latency_s=latency,
            evaluated_prompt_tokens=evaluated,
            raw={"finish_reason": finish},
        )

    async def complete(self, messages: list[Message], params: GenParams) -> Completion:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._complete_sync, messages, params)

    def complete_blocking(self, messages: list[Message], params: GenParams) -> Completion:
        """The same call for synchronous code (runs on the model's worker thread)."""
        return self._executor.submit(self._complete_sync, messages, params).result()

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)
        with self._load_lock:
            if self._llm is not None:
                with contextlib.suppress(Exception):
                    self._llm.close()
                self._llm = None


def _render_for_count(messages: list[Message]) -> str:
    """ChatML rendering, used only to count prompt tokens."""
    out = [f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages]
    return "".join(out) + "<|im_start|>assistant\n"
