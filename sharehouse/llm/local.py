"""The local backend: a GGUF model run in-process by llama-cpp-python.

One model instance serves every caller through a single worker thread (llama.cpp cannot run two
completions on one context), so asyncio callers queue up instead of blocking the event loop.
The KV cache of the previous call is reused when the next prompt shares its prefix; with
``ram_cache_bytes`` set, the KV state of each finished call is kept in a :class:`SeqStateCache`
(keyed by its tokens, longest-prefix lookup, least-recently-used eviction within the byte budget),
so interleaved sessions and purposes (each housemate, the simulated user, the check) restore their
own prefix instead of evaluating it again. Only the sequence's KV cells are kept, never the logits.

A call can be cancelled: :meth:`LocalModel.close` (and the interpreter's exit) sets a flag that the
generation checks before every llama.cpp decode (each prompt chunk and each generated token), so a
running call, streamed or not, ends within one decode step with :class:`ModelClosedError` instead of
holding the worker thread (and the interpreter's exit) until it has generated everything. A
``RuntimeError`` from llama.cpp (``llama_decode returned 1``: no room in the KV cache, ...) becomes an
:class:`~sharehouse.llm.base.LLMError` (transient, after the context is reset, unless the batch itself
was invalid).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import json
import logging
import os
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sharehouse.llm.base import Completion, GenParams, LLMError, Message, TransientLLMError
from sharehouse.settings import get_settings

log = logging.getLogger(__name__)

DEFAULT_STATE_CACHE_BYTES = 1536 << 20
# A saved state is restored only when it saves at least this many tokens over the live KV cache.
MIN_RESTORE_GAIN = 16


class ModelClosedError(LLMError):
    """The model was closed (or the interpreter is exiting) while the call waited or ran."""


def llama_failure(name: str, exc: RuntimeError) -> LLMError:
    """An LLMError for a RuntimeError raised by llama.cpp during a call.

    ``llama_decode`` returns 1 when the KV cache has no room for the batch and 2 when it was aborted;
    both can succeed on a fresh context, so they are transient. A negative code means the batch was
    invalid, which trying again will not change."""
    text = str(exc)
    code = None
    if "returned" in text:
        with contextlib.suppress(ValueError):
            code = int(text.rsplit("returned", 1)[1].strip().split()[0])
    if code is not None and code < 0:
        return LLMError(f"{name}: llama.cpp rejected the batch ({text})")
    return TransientLLMError(f"{name}: llama.cpp failed ({text})")


def cancel_at_exit(obj: object, method: str) -> None:
    """Call ``obj.method()`` when the interpreter starts to exit, before it joins worker threads
    (so a model's running call is cancelled instead of finished). Holds only a weak reference."""
    ref = weakref.ref(obj)

    def hook() -> None:
        target = ref()
        if target is not None:
            getattr(target, method)()

    register: Callable[[Callable[[], None]], None] | None = getattr(threading, "_register_atexit", None)
    if register is not None:
        with contextlib.suppress(RuntimeError):  # already shutting down
            register(hook)


def default_threads() -> int:
    """``SHAREHOUSE_THREADS`` if set, else the cores that are free now (at least one).

    llama.cpp's threads wait for each other at every graph node; when the cores are busy with other
    work, a preempted thread stalls the rest, and two threads on a loaded two-core machine run up to
    ten times slower than one (measured in bench/RESULTS.md), so the load average is taken into account.
    """
    configured = get_settings().threads
    if configured > 0:
        return configured
    cores = max(1, os.cpu_count() or 1)
    try:
        busy = os.getloadavg()[0]
    except OSError:
        busy = 0.0
    return max(1, min(cores, round(cores - busy)))


def common_prefix_len(a: np.ndarray, b: np.ndarray) -> int:
    """Length of the common prefix of two token arrays."""
    n = min(len(a), len(b))
    if n == 0:
        return 0
    diff = np.flatnonzero(a[:n] != b[:n])
    return int(diff[0]) if len(diff) else n


@dataclass
class SavedState:
    tokens: np.ndarray  # int32, the tokens whose KV cells ``data`` holds (positions 0..n-1)
    data: bytes  # llama_state_seq_get_data of one sequence
    last_used: float

    @property
    def nbytes(self) -> int:
        return len(self.data) + self.tokens.nbytes


class SeqStateCache:
    """KV states of single sequences keyed by their tokens: longest-prefix lookup, a state that another
    one extends is dropped (the longer one serves every lookup at least as well), LRU eviction
    beyond ``capacity_bytes``. Not thread-safe: used from one model worker thread."""

    def __init__(self, capacity_bytes: int) -> None:
        self.capacity_bytes = capacity_bytes
        self._entries: list[SavedState] = []
        self.size_bytes = 0
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    def lookup(self, tokens: np.ndarray) -> tuple[SavedState | None, int]:
        """The saved state sharing the longest prefix with ``tokens``, and that prefix's length."""
        best, best_len = None, 0
        for entry in self._entries:
            if len(entry.tokens) == 0 or entry.tokens[0] != tokens[0]:
                continue
            n = common_prefix_len(entry.tokens, tokens)
            if n > best_len:
                best, best_len = entry, n
        if best is not None:
            best.last_used = time.monotonic()
            self.hits += 1
        else:
            self.misses += 1
        return best, best_len

    def put(self, tokens: Sequence[int] | np.ndarray, data: bytes) -> None:
        arr = np.asarray(tokens, dtype=np.int32).copy()
        keep: list[SavedState] = []
        for entry in self._entries:
            if len(entry.tokens) <= len(arr) and common_prefix_len(entry.tokens, arr) == len(entry.tokens):
                self.size_bytes -= entry.nbytes  # superseded by the new, longer state
            else:
                keep.append(entry)
        new = SavedState(arr, data, time.monotonic())
        keep.append(new)
        self.size_bytes += new.nbytes
        self._entries = keep
        if self.size_bytes > self.capacity_bytes:
            self._entries.sort(key=lambda e: e.last_used)
            while self.size_bytes > self.capacity_bytes and self._entries:
                self.size_bytes -= self._entries.pop(0).nbytes

    def clear(self) -> None:
        self._entries.clear()
        self.size_bytes = 0


def get_seq_state(ctx: Any, seq_id: int) -> bytes:
    """The KV cells of one sequence of a llama.cpp context, as bytes."""
    import llama_cpp

    size = int(llama_cpp.llama_state_seq_get_size(ctx, seq_id))
    buf = (ctypes.c_uint8 * size)()
    n = int(llama_cpp.llama_state_seq_get_data(ctx, buf, size, seq_id))
    return ctypes.string_at(buf, n)


def set_seq_state(ctx: Any, seq_id: int, data: bytes) -> bool:
    """Load bytes from :func:`get_seq_state` into sequence ``seq_id`` (which is cleared first)."""
    import llama_cpp

    llama_cpp.llama_memory_seq_rm(llama_cpp.llama_get_memory(ctx), seq_id, -1, -1)
    buf = (ctypes.c_uint8 * len(data)).from_buffer_copy(data)
    return int(llama_cpp.llama_state_seq_set_data(ctx, buf, len(data), seq_id)) > 0


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
        self.n_threads = n_threads or default_threads()
        self.n_batch = n_batch
        self.ram_cache_bytes = ram_cache_bytes
        self.timeout_s = timeout_s
        self.seed = seed
        self._llm: Any = None
        self._formatter: Any = None
        self._load_lock = threading.Lock()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="llama")
        self._cancel = threading.Event()
        self._deadline = float("inf")
        cancel_at_exit(self, "cancel")
        self.calls = 0
        self.total_prompt_tokens = 0
        self.total_evaluated_tokens = 0
        self.restored_tokens = 0
        self.state_cache: SeqStateCache | None = None

    # -- loading ----------------------------------------------------------------------------
    def _ensure_loaded(self) -> Any:
        with self._load_lock:
            if self._llm is None:
                from llama_cpp import Llama

                began = time.perf_counter()
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
                log.info(
                    "loaded %s from %s: %d threads, context %d, batch %d (%.1f s)", self.name, self.path,
                    self.n_threads, self.n_ctx, self.n_batch, time.perf_counter() - began,
                )  # fmt: skip
                self._install_checkpoint(self._llm)
                if self.ram_cache_bytes:
                    self.state_cache = SeqStateCache(self.ram_cache_bytes)
            return self._llm

    def _install_checkpoint(self, llm: Any) -> None:
        """Make every ``Llama.eval`` (llama-cpp-python calls it for each prompt chunk and each generated
        token) check for cancellation and the call's deadline first, one ``n_batch`` chunk at a time."""
        evaluate = llm.eval

        def checked_eval(tokens: Sequence[int]) -> None:
            step = max(1, int(llm.n_batch))
            for i in range(0, len(tokens), step):
                self._checkpoint()
                evaluate(tokens[i : i + step])

        llm.eval = checked_eval

    def _checkpoint(self) -> None:
        if self._cancel.is_set():
            raise ModelClosedError(f"{self.name}: the model was closed during the call")
        if time.perf_counter() > self._deadline:
            raise TransientLLMError(f"{self.name}: generation exceeded {self.timeout_s:.0f} s")

    def cancel(self) -> None:
        """Make the running call (and every queued one) end now with :class:`ModelClosedError`."""
        self._cancel.set()

    def load(self) -> None:
        """Load the weights now (otherwise they load on the first call)."""
        self._ensure_loaded()

    @property
    def llama(self) -> Any:
        return self._ensure_loaded()

    def prompt_tokens(self, messages: list[Message]) -> list[int]:
        """The tokens of a chat prompt exactly as the model sees them (the GGUF's chat template)."""
        llm = self._ensure_loaded()
        if self._formatter is None:
            self._formatter = chat_formatter(llm)
        result = self._formatter(messages=messages)
        return list(
            llm.tokenize(result.prompt.encode("utf-8"), add_bos=not result.added_special, special=True)
        )

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

    def _restore_prefix(self, llm: Any, tokens: list[int]) -> None:
        """Put the saved state sharing the longest prefix with ``tokens`` into the context when it
        beats what the context already holds; llama-cpp-python then evaluates only the rest."""
        cache = self.state_cache
        if cache is None or not tokens:
            return
        prompt = np.asarray(tokens, dtype=np.int32)
        live = common_prefix_len(np.asarray(llm.input_ids[: llm.n_tokens], dtype=np.int32), prompt)
        entry, shared = cache.lookup(prompt)
        if entry is None or shared < live + MIN_RESTORE_GAIN:
            return
        if not set_seq_state(llm._ctx.ctx, 0, entry.data):
            llm.reset()
            llm._ctx.kv_cache_clear()
            return
        n = len(entry.tokens)
        llm.input_ids[:n] = entry.tokens
        llm.n_tokens = n
        self.restored_tokens += shared

    def _save_state(self, llm: Any) -> None:
        if self.state_cache is None or llm.n_tokens == 0:
            return
        self.state_cache.put(llm.input_ids[: llm.n_tokens], get_seq_state(llm._ctx.ctx, 0))

    def _complete_sync(self, messages: list[Message], params: GenParams) -> Completion:
        if self._cancel.is_set():
            raise ModelClosedError(f"{self.name}: the model is closed")
        llm = self._ensure_loaded()
        prompt = self.prompt_tokens(messages)
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
        self._deadline = started + self.timeout_s
        self._restore_prefix(llm, prompt)
        self._perf_reset(llm)
        pieces: list[str] = []
        finish = None
        intact = True  # the context holds what input_ids says: its state may be kept
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
                self._checkpoint()
        except LLMError:
            raise
        except ValueError as exc:  # e.g. prompt longer than the context window
            raise LLMError(f"{self.name}: {exc}") from exc
        except RuntimeError as exc:  # llama.cpp: llama_decode returned ...
            intact = False
            self._reset_context(llm)
            raise llama_failure(self.name, exc) from exc
        finally:
            self._deadline = float("inf")
            if intact:
                self._save_state(llm)
        latency = time.perf_counter() - started
        text = "".join(pieces)
        prompt_tokens = len(prompt)
        completion_tokens = (
            len(llm.tokenize(text.encode("utf-8"), add_bos=False, special=False)) if text else 0
        )
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

    def _reset_context(self, llm: Any) -> None:
        """Forget the KV cache after a failed decode: the next call starts from a clean context."""
        with contextlib.suppress(Exception):
            llm.reset()
            llm._ctx.kv_cache_clear()

    async def complete(self, messages: list[Message], params: GenParams) -> Completion:
        loop = asyncio.get_running_loop()
        try:
            future = loop.run_in_executor(self._executor, self._complete_sync, messages, params)
        except RuntimeError as exc:  # the executor is shut down
            raise ModelClosedError(f"{self.name}: the model is closed") from exc
        return await future

    def complete_blocking(self, messages: list[Message], params: GenParams) -> Completion:
        """The same call for synchronous code (runs on the model's worker thread)."""
        try:
            future = self._executor.submit(self._complete_sync, messages, params)
        except RuntimeError as exc:
            raise ModelClosedError(f"{self.name}: the model is closed") from exc
        return future.result()

    def close(self) -> None:
        """Cancel the running call (it ends at its next decode step), drop queued ones, free the model."""
        self._cancel.set()
        self._executor.shutdown(wait=True, cancel_futures=True)
        with self._load_lock:
            if self._llm is not None:
                with contextlib.suppress(Exception):
                    self._llm.close()
                self._llm = None


def chat_formatter(llm: Any) -> Any:
    """The Jinja chat formatter llama-cpp-python builds from the GGUF's own template."""
    from llama_cpp import llama_chat_format

    template = llm.metadata.get("tokenizer.chat_template")
    if not template:
        raise LLMError("the GGUF model has no chat template")
    eos = llm._model.token_get_text(llm.token_eos()) if llm.token_eos() >= 0 else ""
    bos = llm._model.token_get_text(llm.token_bos()) if llm.token_bos() >= 0 else ""
    return llama_chat_format.Jinja2ChatFormatter(template=template, eos_token=eos, bos_token=bos)
