"""A ChatModel wrapper for evaluation runs: answers identical calls from the ``llm_cache`` table,
prices API calls, and keeps a log of every call so the runner can attribute tokens, cost and
latency to a user's fit and to each prediction.

A call is cached only when it is reproducible: temperature 0 or a fixed seed. The key is the
sha256 of the model spec, the API base URL (when one is set: the same model name behind another
server is another model), the messages and every generation setting that changes the output.

:class:`LazyModel` defers loading a model until its first call, so that methods which never call
the shared chat model (the trained methods generate with transformers) do not load it.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sharehouse.llm.base import ChatModel, Completion, GenParams, Message
from sharehouse.store import Store
from sharehouse.store.evaluation import CachedCompletion, cache_get, cache_put


@dataclass
class CallRecord:
    messages: list[Message]
    completion: Completion
    cached: bool
    cost_usd: float | None


def cache_key(
    model_spec: str, messages: list[Message], params: GenParams, *, api_base: str | None = None
) -> str:
    payload: dict[str, Any] = {
        "model": model_spec,
        "messages": messages,
        "params": {
            "max_tokens": params.max_tokens,
            "temperature": params.temperature,
            "top_p": params.top_p,
            "seed": params.seed,
            "stop": list(params.stop),
            "json_schema": params.json_schema,
        },
    }
    if api_base:  # absent for local models, so their keys are those of earlier versions
        payload["api_base"] = api_base.rstrip("/")
    raw = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def cacheable(params: GenParams) -> bool:
    return params.temperature == 0 or params.seed is not None


def api_cost(model: str, prompt_tokens: int, completion_tokens: int) -> float | None:
    """USD cost of one API call from litellm's price table, or None when the model is not priced."""
    try:
        from sharehouse.llm.remote import _import_litellm

        litellm: Any = _import_litellm()
        prompt_cost, completion_cost = litellm.cost_per_token(
            model=model, prompt_tokens=prompt_tokens, completion_tokens=completion_tokens
        )
        return float(prompt_cost) + float(completion_cost)
    except Exception:  # litellm raises plain Exceptions for unknown models
        return None


class CachingModel:
    """Wraps a shared ChatModel for one unit of work (one user of one method × model)."""

    def __init__(
        self,
        inner: ChatModel,
        model_spec: str,
        *,
        store: Store | None,
        use_cache: bool = True,
        priced_as: str | None = None,
        api_base: str | None = None,
    ) -> None:
        self.inner = inner
        self.name = inner.name
        self.model_spec = model_spec
        self.api_base = api_base
        self.store = store
        self.use_cache = use_cache
        self.priced_as = priced_as  # litellm model name for API models; None for local ones
        self.calls: list[CallRecord] = []

    async def complete(self, messages: list[Message], params: GenParams) -> Completion:
        msgs = [dict(m) for m in messages]
        key = (
            cache_key(self.model_spec, msgs, params, api_base=self.api_base)  # type: ignore[arg-type]
            if self.use_cache and cacheable(params)
            else None
        )
        if key is not None and self.store is not None:
            hit = cache_get(self.store, key)
            if hit is not None:
                comp = Completion(
                    text=hit.text,
                    model=hit.model,
                    prompt_tokens=hit.prompt_tokens or 0,
                    completion_tokens=hit.completion_tokens or 0,
                    latency_s=0.0,
                    raw={"cached": True, "original_latency_s": hit.latency_s},
                )
                self.calls.append(
                    CallRecord(msgs, comp, cached=True, cost_usd=0.0 if self.priced_as else None)
                )  # type: ignore[arg-type]
                return comp
        comp = await self.inner.complete(messages, params)
        cost = (
            api_cost(self.priced_as, comp.prompt_tokens, comp.completion_tokens) if self.priced_as else None
        )
        if key is not None and self.store is not None:
            cache_put(
                self.store,
                CachedCompletion(
                    key=key,
                    model=comp.model,
                    text=comp.text,
                    prompt_tokens=comp.prompt_tokens,
                    completion_tokens=comp.completion_tokens,
                    latency_s=comp.latency_s,
                    cost_usd=cost,
                ),
            )
        self.calls.append(CallRecord(msgs, comp, cached=False, cost_usd=cost))  # type: ignore[arg-type]
        return comp

    def close(self) -> None:
        """The wrapped model is shared; it is closed by whoever loaded it."""
        return None


class LazyModel:
    """A ChatModel loaded by ``load`` on its first call (once, thread-safe); ``loaded`` tells whether it was."""

    def __init__(
        self, name: str, load: Callable[[], ChatModel], on_load: Callable[[], None] | None = None
    ) -> None:
        self.name = name
        self._load = load
        self._on_load = on_load
        self._model: ChatModel | None = None
        self._lock = threading.Lock()

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def get(self) -> ChatModel:
        with self._lock:
            if self._model is None:
                self._model = self._load()
                if self._on_load is not None:
                    self._on_load()
            return self._model

    async def complete(self, messages: list[Message], params: GenParams) -> Completion:
        return await self.get().complete(messages, params)

    def close(self) -> None:
        """The loaded model is shared (the registry keeps it); nothing to release here."""
        return None


@dataclass
class CallTotals:
    calls: int = 0
    cached: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_s: float = 0.0
    cost_usd: float | None = None


def completion_totals(completions: list[Completion]) -> CallTotals:
    """Sums over a method's own generations (those made outside the caching wrapper); no cost known."""
    out = CallTotals()
    for c in completions:
        out.calls += 1
        out.cached += int(bool(c.raw.get("cached")))
        out.prompt_tokens += c.prompt_tokens
        out.completion_tokens += c.completion_tokens
        out.latency_s += c.latency_s
    return out


def totals(records: list[CallRecord]) -> CallTotals:
    """Sums over some calls; cost is None unless every uncached call was priced."""
    out = CallTotals()
    costs: list[float | None] = []
    for r in records:
        out.calls += 1
        out.cached += int(r.cached)
        out.prompt_tokens += r.completion.prompt_tokens
        out.completion_tokens += r.completion.completion_tokens
        out.latency_s += r.completion.latency_s
        costs.append(r.cost_usd)
    if costs and all(c is not None for c in costs):
        out.cost_usd = sum(c for c in costs if c is not None)
    return out
