"""Model specs (``local``, ``local:small``, ``local:/path.gguf``, ``litellm:openai/gpt-4o-mini``)
turned into ready ChatModels, with retries, loaded once per process.

A local spec may end in ``+batch`` (``local+batch``, ``local:small+batch``, ``/x.gguf+batch``): its
concurrent calls are then decoded together over several llama.cpp sequences
(:mod:`sharehouse.llm.batch`). :func:`parse_spec` and :func:`load_model` read every spec form the same
way: ``load_model`` builds exactly what ``parse_spec`` describes."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from sharehouse.llm.base import ChatModel
from sharehouse.llm.endpoints import check_api_base, endpoint_model
from sharehouse.llm.local import DEFAULT_STATE_CACHE_BYTES, LocalModel
from sharehouse.llm.models import PACKAGED_MODELS, ensure_model
from sharehouse.llm.retry import RetryingModel, RetryPolicy

DEFAULT_MODEL = "local"


class ModelConfig(BaseModel):
    """What a session or evaluation records about its model (never an API key)."""

    model_config = ConfigDict(extra="forbid")

    backend: Literal["local", "litellm"]
    model: str  # packaged key, GGUF path, or litellm model string
    # litellm only: one URL, several (comma-separated) or a Router config file (sharehouse.llm.endpoints)
    api_base: str | None = None
    n_ctx: int = 4096
    timeout_s: float = 300.0
    max_attempts: int = 4
    # Local only: concurrent calls decoded together over ``n_seq`` llama.cpp sequences.
    batched: bool = False
    n_seq: int | None = None
    # Local only: byte budget of the KV state cache (None = the loader's default, 0 = off).
    state_cache_bytes: int | None = None

    @property
    def spec(self) -> str:
        """The spec string that parses back to this backend, model and batching."""
        return f"{self.backend}:{self.model}" + (BATCH_SUFFIX if self.batched else "")


BATCH_SUFFIX = "+batch"


def parse_spec(spec: str, *, api_base: str | None = None, **overrides: Any) -> ModelConfig:
    """``local`` → the default packaged model; ``local:small``; ``local:/x.gguf``;
    ``litellm:MODEL`` or a bare ``provider/model`` → litellm. A local spec ending in ``+batch``
    (``local+batch``, ``local:small+batch``) sets ``batched``; on a litellm spec it is an error."""
    spec = spec.strip()
    if not spec:
        raise ValueError("empty model spec")
    if spec.endswith(BATCH_SUFFIX):
        cfg = parse_spec(spec[: -len(BATCH_SUFFIX)], api_base=api_base, **overrides)
        if cfg.backend != "local":
            raise ValueError(
                f"model spec {spec!r}: {BATCH_SUFFIX!r} (batched decoding) applies only to local models"
            )
        return cfg.model_copy(update={"batched": True})
    if spec == "local":
        return ModelConfig(backend="local", model="default", **overrides)
    if spec.startswith("local:"):
        rest = spec[len("local:") :]
        if rest in PACKAGED_MODELS or rest.endswith(".gguf"):
            return ModelConfig(backend="local", model=rest, **overrides)
        raise ValueError(
            f"unknown local model {rest!r}: use one of {', '.join(PACKAGED_MODELS)} or a path ending in .gguf"
        )
    if spec.startswith("litellm:"):
        spec = spec[len("litellm:") :]
    elif spec.endswith(".gguf"):
        return ModelConfig(backend="local", model=spec, **overrides)
    overrides.setdefault("timeout_s", 60.0)
    if api_base is not None:
        check_api_base(api_base, model=spec)  # several endpoints or a Router config: see llm.endpoints
    return ModelConfig(backend="litellm", model=spec, api_base=api_base, **overrides)


_LOCK = threading.Lock()
_LOCAL: dict[tuple[str, int], LocalModel] = {}
_BATCHED: dict[tuple[str, int, int], ChatModel] = {}
MAX_SEQUENCES = 8


def clamp_sequences(n: int) -> int:
    """The number of llama.cpp sequences a batched model gets for ``n`` concurrent calls."""
    return max(1, min(int(n), MAX_SEQUENCES))


def local_model_path(cfg: ModelConfig) -> Path:
    return ensure_model(cfg.model) if cfg.model in PACKAGED_MODELS else Path(cfg.model)


def _local(cfg: ModelConfig, ram_cache_bytes: int) -> LocalModel:
    path = local_model_path(cfg)
    key = (str(path), cfg.n_ctx)
    with _LOCK:
        model = _LOCAL.get(key)
        if model is None:
            name = f"local:{cfg.model}" if cfg.model in PACKAGED_MODELS else f"local:{path.name}"
            model = LocalModel(
                path, name=name, n_ctx=cfg.n_ctx, timeout_s=cfg.timeout_s, ram_cache_bytes=ram_cache_bytes
            )
            _LOCAL[key] = model
        return model


def _batched(cfg: ModelConfig, ram_cache_bytes: int, n_seq: int) -> ChatModel:
    from sharehouse.llm.batch import BatchedLocalModel

    base = _local(cfg, ram_cache_bytes)  # lends weights and tokenizer; its cache fills only if used directly
    key = (str(base.path), cfg.n_ctx, n_seq)
    with _LOCK:
        model = _BATCHED.get(key)
        if model is None:
            model = BatchedLocalModel(base, n_seq=n_seq, ram_cache_bytes=ram_cache_bytes)
            _BATCHED[key] = model
        return model


def build_model(
    cfg: ModelConfig,
    *,
    ram_cache_bytes: int = DEFAULT_STATE_CACHE_BYTES,
    retry: RetryPolicy | None = None,
    batched: bool = False,
    n_seq: int = 4,
) -> RetryingModel:
    """``batched`` or ``cfg.batched`` (local only): concurrent calls share llama.cpp batches over
    ``cfg.n_seq`` (else ``n_seq``) sequences, at most :data:`MAX_SEQUENCES`."""
    inner: ChatModel
    if cfg.backend == "local" and (batched or cfg.batched):
        inner = _batched(cfg, ram_cache_bytes, clamp_sequences(cfg.n_seq or n_seq))
    elif cfg.backend == "local":
        inner = _local(cfg, ram_cache_bytes)
    else:
        inner = endpoint_model(cfg.model, cfg.api_base, timeout_s=cfg.timeout_s)
    return RetryingModel(inner, retry or RetryPolicy(max_attempts=cfg.max_attempts))


def load_model(spec: str = DEFAULT_MODEL, *, api_base: str | None = None, **overrides: Any) -> RetryingModel:
    """A ready ChatModel for a spec string. Local models load lazily, once per process.

    Local-only keywords: ``ram_cache_bytes`` (budget of the per-call KV state cache that lets
    interleaved sessions resume their own prefix; None = the default 1.5 GiB, 0 = off),
    ``batched=True`` with ``n_seq`` (decode up to ``n_seq`` concurrent calls together, see
    :mod:`sharehouse.llm.batch`). A spec ending in ``+batch`` (``local:small+batch``) also asks for it;
    the spec is read by :func:`parse_spec` alone, so both always agree on what it means.
    """
    ram = overrides.pop("ram_cache_bytes", None)
    ram_cache_bytes = DEFAULT_STATE_CACHE_BYTES if ram is None else int(ram)
    retry = overrides.pop("retry", None)
    batched = bool(overrides.pop("batched", False))
    n_seq = int(overrides.pop("n_seq", 4))
    cfg = parse_spec(spec, api_base=api_base, **overrides)
    if batched and cfg.backend != "local":
        raise ValueError(f"model spec {spec!r}: batched decoding applies only to local models")
    return build_model(cfg, ram_cache_bytes=ram_cache_bytes, retry=retry, batched=batched, n_seq=n_seq)


def release_local_models() -> None:
    """Close every cached local model (tests, long-lived apps switching models)."""
    with _LOCK:
        for batched in _BATCHED.values():
            batched.close()
        _BATCHED.clear()
        for model in _LOCAL.values():
            model.close()
        _LOCAL.clear()
