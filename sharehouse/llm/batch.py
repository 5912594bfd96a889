"""Batched multi-sequence decoding: several concurrent calls decoded together in one llama.cpp batch.

:class:`BatchedLocalModel` is a ChatModel over the weights of a :class:`~sharehouse.llm.local.LocalModel`
with its own llama.cpp context of ``n_seq`` sequences. Calls that arrive together (within
``gather_s``) or while others are generating share each ``llama_decode``: every generating
sequence contributes its next token and a new call's prompt is prefilled in the same batch
(continuous batching), so the weights are read once per step for all sequences instead of once
per sequence. Each sequence samples on its own (greedy, or top-k/top-p/temperature with its own
seed; a GBNF grammar from the JSON schema for checks) and stops on end of generation, its stop
strings or ``max_tokens``.

The grammar is applied lazily, as llama.cpp's own ``common_sampler`` does: the token is sampled without
it and kept when the grammar accepts it; only a rejected token makes the sequence sample again with
the grammar applied to the whole vocabulary first. Applying a JSON grammar to all 152k tokens of the
Qwen vocabulary costs about as much as the decode step itself, and the model's first choice is
almost always valid.

:meth:`BatchedLocalModel.close` (also run when the interpreter exits) ends the running calls at the
next decode step with :class:`~sharehouse.llm.local.ModelClosedError` instead of finishing them.

A sequence slot keeps the KV cache of its last call, and every finished call's KV state is kept
in a :class:`~sharehouse.llm.local.SeqStateCache`, so a new call starts from the longest prefix
it shares with any earlier call (its own session's previous turn, typically).
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import ctypes
import functools
import json
import math
import queue
import threading
import time
from concurrent.futures import Future, InvalidStateError
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sharehouse.llm.base import Completion, GenParams, LLMError, Message, TransientLLMError
from sharehouse.llm.local import (
    DEFAULT_STATE_CACHE_BYTES,
    MIN_RESTORE_GAIN,
    LocalModel,
    ModelClosedError,
    SeqStateCache,
    cancel_at_exit,
    common_prefix_len,
    get_seq_state,
    set_seq_state,
)

REPEAT_LAST_N = 64
REPEAT_PENALTY = 1.1
TOP_K = 40
MIN_P = 0.05
# numpy's view of llama_token_data {int32 id; float logit; float p}
TOKEN_DATA = np.dtype([("id", np.int32), ("logit", np.float32), ("p", np.float32)])


@functools.lru_cache(maxsize=32)
def _gbnf(schema_json: str) -> str:
    from llama_cpp.llama_grammar import json_schema_to_gbnf

    return json_schema_to_gbnf(schema_json)


@dataclass
class _Request:
    messages: list[Message]
    params: GenParams
    future: Future[Completion]
    submitted: float = field(default_factory=time.perf_counter)
    prompt: list[int] = field(default_factory=list)
    pending: list[int] = field(default_factory=list)  # prompt tokens still to evaluate
    evaluated: int = 0
    next_token: int | None = None  # sampled, not yet in the KV cache
    generated: list[int] = field(default_factory=list)
    text: str = ""
    streamed: int = 0  # characters of ``text`` already passed to on_token
    sampler: Any = None  # top-k, penalties, top-p/temperature/dist or greedy
    grammar: Any = None  # GBNF sampler of the JSON schema, applied lazily (module docstring)
    decoder: Any = None
    started: float = 0.0
    deadline: float = 0.0
    finish: str | None = None


@dataclass
class _Slot:
    seq: int
    tokens: list[int] = field(default_factory=list)  # what this sequence's KV cells hold
    request: _Request | None = None
    last_used: float = 0.0


class BatchedLocalModel:
    """A ChatModel decoding up to ``n_seq`` concurrent calls together (see the module docstring)."""

    def __init__(
        self,
        base: LocalModel,
        *,
        n_seq: int = 4,
        n_batch: int = 512,
        ram_cache_bytes: int = DEFAULT_STATE_CACHE_BYTES,
        gather_s: float = 0.005,
        name: str | None = None,
        lazy_grammar: bool = True,
    ) -> None:
        if n_seq < 1:
            raise ValueError("n_seq must be at least 1")
        self.base = base
        self.name = name or base.name
        self.n_seq = n_seq
        self.n_batch = n_batch
        self.gather_s = gather_s
        self.lazy_grammar = lazy_grammar  # False: the grammar first on the whole vocabulary, every token
        self.timeout_s = base.timeout_s
        self.state_cache = SeqStateCache(ram_cache_bytes) if ram_cache_bytes else None
        self._queue: queue.Queue[_Request | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._ctx: Any = None
        self._batch: Any = None
        self._closed = False
        self._closing = threading.Event()
        self.calls = 0
        self.steps = 0  # llama_decode calls
        # Steps that only generated (no prompt tokens): their wall time, decode + sampling, and tokens.
        self.generate_only_s = 0.0
        self.generate_only_tokens = 0
        self.grammar_resamples = 0  # tokens the grammar rejected, sampled again under it
        self.total_evaluated_tokens = 0
        self.total_generated_tokens = 0
        self.restored_tokens = 0

    # -- set-up ------------------------------------------------------------------------------
    def load(self) -> None:
        """Load the weights and start the decoding thread now (otherwise on the first call)."""
        self._start()

    def prompt_tokens(self, messages: list[Message]) -> list[int]:
        return self.base.prompt_tokens(messages)

    def _start(self) -> None:
        with self._start_lock:
            if self._closed:
                raise ModelClosedError(f"{self.name}: the model is closed")
            if self._thread is not None:
                return
            import llama_cpp

            llm = self.base.llama
            params = llama_cpp.llama_context_default_params()
            params.n_ctx = self.base.n_ctx * self.n_seq
            params.n_batch = self.n_batch
            params.n_ubatch = self.n_batch
            params.n_seq_max = self.n_seq
            params.n_threads = self.base.n_threads
            params.n_threads_batch = self.base.n_threads
            params.kv_unified = False  # one KV stream per sequence: each attends only to its own cells
            ctx = llama_cpp.llama_init_from_model(llm._model.model, params)
            if not ctx:
                raise LLMError(f"{self.name}: cannot create a {self.n_seq}-sequence llama.cpp context")
            self._ctx = ctx
            self._batch = llama_cpp.llama_batch_init(self.n_batch, 0, 1)
            self._llm = llm
            self._vocab = llm._model.vocab
            self._n_vocab = llm.n_vocab()
            self._token_ids = np.arange(self._n_vocab, dtype=np.int32)
            self._candidates = np.zeros(self._n_vocab, dtype=TOKEN_DATA)
            self._slots = [_Slot(seq=i) for i in range(self.n_seq)]
            self._thread = threading.Thread(target=self._run, name="llama-batch", daemon=True)
            self._thread.start()
            cancel_at_exit(self, "close")

    # -- the ChatModel interface -------------------------------------------------------------
    def submit(self, messages: list[Message], params: GenParams) -> Future[Completion]:
        """Queue one call; the returned future resolves when its sequence finishes."""
        self._start()
        fut: Future[Completion] = Future()
        self._queue.put(_Request(messages=messages, params=params, future=fut))
        return fut

    async def complete(self, messages: list[Message], params: GenParams) -> Completion:
        return await asyncio.wrap_future(self.submit(messages, params))

    def complete_blocking(self, messages: list[Message], params: GenParams) -> Completion:
        return self.submit(messages, params).result()

    def close(self) -> None:
        """End the running calls at the next decode step (their callers get ModelClosedError), fail the
        queued ones, and free the llama.cpp context."""
        with self._start_lock:
            if self._closed:
                return
            self._closed = True
            thread = self._thread
        self._closing.set()
        if thread is not None:
            self._queue.put(None)
            thread.join()
            import llama_cpp

            llama_cpp.llama_batch_free(self._batch)
            llama_cpp.llama_free(self._ctx)
            self._ctx = None
        if self.state_cache is not None:
            self.state_cache.clear()

    # -- the decoding thread -----------------------------------------------------------------
    def _run(self) -> None:
        try:
            self._loop()
        except BaseException as exc:  # never leave a caller waiting on a dead thread
            failure = LLMError(f"{self.name}: the decoding thread failed: {type(exc).__name__}: {exc}")
            for slot in self._slots:
                if slot.request is not None:
                    _resolve(slot.request.future, error=failure)
                    slot.request = None
            while True:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is not None:
                    _resolve(item.future, error=failure)
            raise

    def _loop(self) -> None:
        waiting: list[_Request] = []
        stop = False
        while True:
            if self._closing.is_set():
                self._abandon(waiting)
                return
            active = [s for s in self._slots if s.request is not None]
            if not active and not waiting:
                if stop:
                    return
                item = self._queue.get()
                if item is None:
                    return
                waiting.append(item)
                time.sleep(self.gather_s)  # let the other sessions' calls of this round arrive
            while True:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                else:
                    waiting.append(item)
            waiting = self._admit(waiting)
            if any(s.request is not None for s in self._slots):
                self._step()

    def _abandon(self, waiting: list[_Request]) -> None:
        """Fail every running, waiting and queued call: the model is closing."""
        closed = ModelClosedError(f"{self.name}: the model was closed during the call")
        for slot in self._slots:
            if slot.request is not None:
                self._finish(slot, error=closed, keep=False)
        for req in waiting:
            _resolve(req.future, error=closed)
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return
            if item is not None:
                _resolve(item.future, error=closed)

    def _admit(self, waiting: list[_Request]) -> list[_Request]:
        """Give waiting calls free sequences, each starting from its longest cached prefix."""
        left: list[_Request] = []
        for req in waiting:
            if req.future.cancelled():
                continue
            free = [s for s in self._slots if s.request is None]
            if not free:
                left.append(req)
                continue
            try:
                self._assign(req, free)
            except LLMError as exc:
                _resolve(req.future, error=exc)
        return left

    def _assign(self, req: _Request, free: list[_Slot]) -> None:
        import llama_cpp

        prompt = self.base.prompt_tokens(req.messages)
        if len(prompt) + req.params.max_tokens > self.base.n_ctx:
            raise LLMError(
                f"{self.name}: prompt of {len(prompt)} tokens + {req.params.max_tokens} to generate exceeds "
                f"the context window of {self.base.n_ctx}"
            )
        arr = np.asarray(prompt, dtype=np.int32)
        shares = [common_prefix_len(np.asarray(s.tokens, dtype=np.int32), arr) for s in free]
        best = max(range(len(free)), key=lambda i: (shares[i], -free[i].last_used))
        slot, shared = free[best], shares[best]
        if self.state_cache is not None:
            entry, cached = self.state_cache.lookup(arr)
            if entry is not None and cached >= shared + MIN_RESTORE_GAIN:
                # Overwrite the least recently used free sequence (its own state is in the cache).
                slot = min(free, key=lambda s: s.last_used)
                if set_seq_state(self._ctx, slot.seq, entry.data):
                    slot.tokens = entry.tokens.tolist()
                    shared = cached
                    self.restored_tokens += cached
                else:
                    slot.tokens = []
                    shared = 0
        shared = min(shared, len(prompt) - 1)  # the last prompt token is evaluated for its logits
        mem = llama_cpp.llama_get_memory(self._ctx)
        llama_cpp.llama_memory_seq_rm(mem, slot.seq, shared, -1)
        slot.tokens = slot.tokens[:shared]
        now = time.perf_counter()
        req.prompt = prompt
        req.pending = prompt[shared:]
        req.evaluated = len(req.pending)
        req.sampler, req.grammar = self._make_sampler(req.params)
        req.decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        req.started = now
        req.deadline = now + self.timeout_s
        slot.request = req
        slot.last_used = now

    def _make_sampler(self, params: GenParams) -> tuple[Any, Any]:
        """The sampler chain of one call, and its grammar sampler (None without a JSON schema)."""
        import llama_cpp

        grammar = None
        if params.json_schema is not None:
            # Key order kept: the grammar generates properties in the order of the schema.
            gbnf = _gbnf(json.dumps(params.json_schema))
            grammar = llama_cpp.llama_sampler_init_grammar(self._vocab, gbnf.encode("utf-8"), b"root")
            if not grammar:
                raise LLMError(f"{self.name}: cannot build a grammar from the JSON schema")
        chain = llama_cpp.llama_sampler_chain_init(llama_cpp.llama_sampler_chain_default_params())
        add = llama_cpp.llama_sampler_chain_add
        if grammar is not None and not self.lazy_grammar:
            add(chain, grammar)  # the chain owns it now
            grammar = None
        # top-k first: the repetition penalty then looks at 40 candidates, not the whole vocabulary.
        add(chain, llama_cpp.llama_sampler_init_top_k(TOP_K))
        # The same argument order as llama-cpp-python's own sampler (its binding takes n_vocab first).
        add(
            chain,
            llama_cpp.llama_sampler_init_penalties(self._n_vocab, REPEAT_LAST_N, REPEAT_PENALTY, 0.0, 0.0),
        )
        if params.temperature <= 0:
            add(chain, llama_cpp.llama_sampler_init_greedy())
        else:
            seed = params.seed if params.seed is not None else self.base.seed
            add(chain, llama_cpp.llama_sampler_init_top_p(params.top_p, 1))
            # min-p 0.05 as llama-cpp-python's own chain (LocalModel's path) has it by default.
            add(chain, llama_cpp.llama_sampler_init_min_p(MIN_P, 1))
            add(chain, llama_cpp.llama_sampler_init_temp(params.temperature))
            add(chain, llama_cpp.llama_sampler_init_dist(seed & 0xFFFFFFFF))
        return chain, grammar

    def _sample(self, req: _Request, idx: int) -> int:
        """The next token of one sequence from the logits of batch row ``idx``."""
        import llama_cpp

        if req.grammar is None:
            return int(llama_cpp.llama_sampler_sample(req.sampler, self._ctx, idx))
        token = self._apply(req, idx, with_grammar=False)
        one = llama_cpp.llama_token_data(token, 1.0, 0.0)
        single = llama_cpp.llama_token_data_array(ctypes.pointer(one), 1, -1, False)
        llama_cpp.llama_sampler_apply(req.grammar, ctypes.byref(single))
        if math.isinf(one.logit) and one.logit < 0:  # the grammar rejects it: sample again under it
            self.grammar_resamples += 1
            token = self._apply(req, idx, with_grammar=True)
        llama_cpp.llama_sampler_accept(req.grammar, token)
        llama_cpp.llama_sampler_accept(req.sampler, token)
        return token

    def _apply(self, req: _Request, idx: int, *, with_grammar: bool) -> int:
        """Run the samplers over the whole vocabulary of batch row ``idx`` without accepting the result."""
        import llama_cpp

        cand = self._candidates
        cand["id"] = self._token_ids
        cand["logit"] = np.ctypeslib.as_array(
            llama_cpp.llama_get_logits_ith(self._ctx, idx), (self._n_vocab,)
        )
        cand["p"] = 0.0
        data = cand.ctypes.data_as(ctypes.POINTER(llama_cpp.llama_token_data))
        arr = llama_cpp.llama_token_data_array(data, self._n_vocab, -1, False)
        if with_grammar:
            llama_cpp.llama_sampler_apply(req.grammar, ctypes.byref(arr))
        llama_cpp.llama_sampler_apply(req.sampler, ctypes.byref(arr))
        if not 0 <= arr.selected < arr.size:
            raise LLMError(f"{self.name}: the sampler selected no token")
        return int(arr.data[arr.selected].id)

    def _step(self) -> None:
        """One llama_decode for every active sequence, then one sampled token for each that wants one."""
        import llama_cpp

        batch = self._batch
        n = 0
        outputs: list[tuple[_Slot, int]] = []

        def put(slot: _Slot, token: int, logits: bool) -> None:
            nonlocal n
            batch.token[n] = token
            batch.pos[n] = len(slot.tokens)
            batch.n_seq_id[n] = 1
            batch.seq_id[n][0] = slot.seq
            batch.logits[n] = 1 if logits else 0
            slot.tokens.append(token)
            n += 1

        now = time.perf_counter()
        for slot in self._slots:
            req = slot.request
            if req is None:
                continue
            if req.future.cancelled() or now > req.deadline:
                self._finish(
                    slot, error=TransientLLMError(f"{self.name}: generation exceeded {self.timeout_s:.0f} s")
                )
                continue
            if req.next_token is not None:
                put(slot, req.next_token, True)
                req.next_token = None
                outputs.append((slot, n - 1))
        generate_only = True
        budget = self.n_batch - n
        for slot in self._slots:
            req = slot.request
            if req is None or not req.pending or budget <= 0:
                continue
            generate_only = False
            chunk, req.pending = req.pending[:budget], req.pending[budget:]
            for i, token in enumerate(chunk):
                put(slot, token, not req.pending and i == len(chunk) - 1)
            budget -= len(chunk)
            if not req.pending:
                outputs.append((slot, n - 1))
        if n == 0:
            return
        batch.n_tokens = n
        began = time.perf_counter()
        rc = llama_cpp.llama_decode(self._ctx, batch)
        self.steps += 1
        if rc != 0:
            for slot in self._slots:
                if slot.request is not None:
                    self._finish(
                        slot, error=TransientLLMError(f"{self.name}: llama_decode returned {rc}"), keep=False
                    )
            return
        for slot, idx in outputs:
            req = slot.request
            assert req is not None
            try:
                token = self._sample(req, idx)
            except LLMError as exc:
                self._finish(slot, error=exc, keep=False)
                continue
            self._accept(slot, req, token)
        if generate_only:
            self.generate_only_s += time.perf_counter() - began
            self.generate_only_tokens += len(outputs)

    def _accept(self, slot: _Slot, req: _Request, token: int) -> None:
        import llama_cpp

        if llama_cpp.llama_vocab_is_eog(self._vocab, token):
            req.finish = "stop"
            self._finish(slot)
            return
        req.generated.append(token)
        buf = ctypes.create_string_buffer(64)
        size = llama_cpp.llama_token_to_piece(self._vocab, token, buf, 64, 0, False)
        req.text += req.decoder.decode(buf.raw[: max(0, size)])
        stops = req.params.stop
        cut = min((i for i in (req.text.find(s) for s in stops if s) if i >= 0), default=-1)
        if cut >= 0:
            req.text = req.text[:cut]
            req.finish = "stop"
        elif len(req.generated) >= req.params.max_tokens:
            req.finish = "length"
        if req.params.on_token is not None:
            # Hold back a tail that could still become a stop string.
            hold = 0 if req.finish else max((len(s) - 1 for s in stops), default=0)
            upto = max(req.streamed, len(req.text) - hold)
            if upto > req.streamed:
                req.params.on_token(req.text[req.streamed : upto])
                req.streamed = upto
        if req.finish:
            self._finish(slot)
        else:
            req.next_token = token

    def _finish(self, slot: _Slot, *, error: LLMError | None = None, keep: bool = True) -> None:
        import llama_cpp

        req = slot.request
        assert req is not None
        slot.request = None
        slot.last_used = time.perf_counter()
        llama_cpp.llama_sampler_free(req.sampler)
        if req.grammar is not None:
            llama_cpp.llama_sampler_free(req.grammar)
        if not keep:
            llama_cpp.llama_memory_seq_rm(llama_cpp.llama_get_memory(self._ctx), slot.seq, -1, -1)
            slot.tokens = []
        elif self.state_cache is not None and slot.tokens:
            self.state_cache.put(slot.tokens, get_seq_state(self._ctx, slot.seq))
        if req.future.cancelled():
            return
        if error is not None:
            _resolve(req.future, error=error)
            return
        text = req.text + req.decoder.decode(b"", final=True) if req.finish != "stop" else req.text
        self.calls += 1
        self.total_evaluated_tokens += req.evaluated
        self.total_generated_tokens += len(req.generated)
        if req.params.json_schema is not None:
            try:
                json.loads(text)
            except ValueError:
                _resolve(
                    req.future,
                    error=TransientLLMError(f"{self.name}: model returned invalid JSON: {text[:200]!r}"),
                )
                return
        _resolve(
            req.future,
            Completion(
                text=text,
                model=self.name,
                prompt_tokens=len(req.prompt),
                completion_tokens=len(req.generated),
                latency_s=time.perf_counter() - req.started,
                evaluated_prompt_tokens=req.evaluated,
                raw={"finish_reason": req.finish, "queued_s": req.started - req.submitted},
            ),
        )


def _resolve(
    fut: Future[Completion], result: Completion | None = None, *, error: BaseException | None = None
) -> None:
    """Set a call's outcome unless its caller has given up on it."""
    with contextlib.suppress(InvalidStateError):
        if error is not None:
            fut.set_exception(error)
        elif result is not None:
            fut.set_result(result)
