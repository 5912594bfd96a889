"""The local model in transformers form, for the methods that update parameters.

Which weights are trained follows the evaluation's model spec (:func:`source_for_spec`): ``local``
is the packaged 1.5B GGUF, ``local:small`` the packaged 0.5B, ``local:/path.gguf`` that file; an API
model has no local weights and is refused with a clear reason. The GGUF file is dequantised by
transformers once and saved as safetensors under ``cache_root()/hf/<key>`` (a file lock keeps two
processes from converting the same model at once); later loads read that folder. The base model is
loaded lazily, once per process, and shared: a LoRA adapter is put on it only for the time of one
training run or one generation (:func:`with_adapter`) and taken off again, so every user starts
from the same base weights. One lock serialises all use of a base model.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sharehouse.llm.base import Message
from sharehouse.llm.models import PACKAGED_MODELS, cache_root, ensure_model

STAMP = "sharehouse-convert.json"
LORA_TARGETS: tuple[str, ...] = ("q_proj", "k_proj", "v_proj", "o_proj")
DEFAULT_THREADS = 2


class NeedsLocalWeights(ValueError):
    """A parameter-updating method was given a model spec without local weights (an API model)."""


@dataclass(frozen=True)
class BaseSource:
    """The GGUF file a trainable base model is converted from.

    ``key`` names the converted folder: the packaged key (``small``, ``default``) or, for any other
    GGUF file, ``gguf-`` and a hash of its resolved path. ``sha256`` is the pinned checksum of a
    packaged model; a plain file is identified by its path, size and modification time instead.
    """

    key: str
    spec: str  # the evaluation model spec it came from (local, local:small, local:/x.gguf)
    packaged: bool
    file: Path | None = None  # the GGUF path of a plain file (packaged models are assembled on demand)

    @property
    def filename(self) -> str:
        return PACKAGED_MODELS[self.key].filename if self.packaged else Path(str(self.file)).name

    @property
    def sha256(self) -> str | None:
        return PACKAGED_MODELS[self.key].sha256 if self.packaged else None

    def gguf(self) -> Path:
        return ensure_model(self.key) if self.packaged else Path(str(self.file))

    def stamp(self) -> dict[str, Any]:
        import transformers

        major = transformers.__version__.split(".")[0]
        if self.packaged:
            return {"source": self.filename, "sha256": self.sha256, "dtype": "float32", "transformers": major}
        st = Path(str(self.file)).stat()
        return {
            "source": str(self.file),
            "size": st.st_size,
            "mtime_ns": st.st_mtime_ns,
            "dtype": "float32",
            "transformers": major,
        }

    def describe(self) -> dict[str, Any]:
        """What the stored training record says about the trained weights."""
        out: dict[str, Any] = {"base_model": self.key if self.packaged else str(self.file)}
        out["base_spec"] = self.spec
        out["base_gguf"] = self.filename
        if self.sha256 is not None:
            out["base_sha256"] = self.sha256
        return out


def packaged_source(key: str) -> BaseSource:
    if key not in PACKAGED_MODELS:
        raise KeyError(f"unknown packaged model {key!r}; choose one of {', '.join(PACKAGED_MODELS)}")
    return BaseSource(key=key, spec=f"local:{key}", packaged=True)


def source_for_spec(spec: str, *, method: str = "this method") -> BaseSource:
    """The weights a parameter-updating method trains for the evaluation model ``spec``.

    ``local`` → the packaged 1.5B model, ``local:small`` → the packaged 0.5B, ``local:/x.gguf`` (or
    a bare ``/x.gguf``) → that file. An API model raises :class:`NeedsLocalWeights`.
    """
    from sharehouse.llm.registry import parse_spec

    cfg = parse_spec(spec)
    if cfg.backend != "local":
        raise NeedsLocalWeights(
            f"{method} trains weights, so it needs a local model (local, local:small or local:/path.gguf); "
            f"{spec!r} is an API model"
        )
    if cfg.model in PACKAGED_MODELS:
        return BaseSource(key=cfg.model, spec=spec, packaged=True)
    path = Path(cfg.model).expanduser().resolve()
    if not path.is_file():
        raise ValueError(f"{method}: model {spec!r}: no such GGUF file {path}")
    digest = hashlib.sha256(str(path).encode("utf-8")).hexdigest()[:16]
    return BaseSource(key=f"gguf-{digest}", spec=spec, packaged=False, file=path)


def _as_source(source: BaseSource | str) -> BaseSource:
    return source if isinstance(source, BaseSource) else packaged_source(source)


@dataclass
class BaseModel:
    """One loaded base model with its tokenizer; ``lock`` guards every forward pass."""

    key: str
    model: Any  # transformers PreTrainedModel
    tokenizer: Any  # transformers PreTrainedTokenizerBase
    path: Path
    dtype: str = "float32"
    source: BaseSource | None = None
    lock: threading.RLock = field(default_factory=threading.RLock)
    base_reply_cache: dict[str, Generated] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return f"hf:{self.key}:{self.dtype}"


@dataclass(frozen=True)
class LoraSettings:
    r: int = 8
    alpha: int = 16
    dropout: float = 0.05
    targets: tuple[str, ...] = LORA_TARGETS

    def config(self) -> Any:
        from peft import LoraConfig

        return LoraConfig(
            r=self.r,
            lora_alpha=self.alpha,
            lora_dropout=self.dropout,
            target_modules=list(self.targets),
            bias="none",
            task_type="CAUSAL_LM",
        )

    def as_dict(self) -> dict[str, Any]:
        return {"r": self.r, "alpha": self.alpha, "dropout": self.dropout, "targets": list(self.targets)}


@dataclass
class Generated:
    text: str
    prompt: str
    prompt_tokens: int
    completion_tokens: int
    latency_s: float


def converted_dir(key: str) -> Path:
    return cache_root() / "hf" / key


def is_converted(source: BaseSource | str) -> bool:
    src = _as_source(source)
    stamp = converted_dir(src.key) / STAMP
    try:
        return json.loads(stamp.read_text()) == src.stamp()
    except (OSError, ValueError):
        return False


@contextlib.contextmanager
def _convert_lock(key: str) -> Iterator[None]:
    """An exclusive lock across processes, so two of them never convert into one folder at once."""
    folder = cache_root() / "hf"
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / f".{key}.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def convert(source: BaseSource | str = "small") -> Path:
    """Dequantise a GGUF model into a transformers folder (once); return the folder.

    ``source`` is a :class:`BaseSource` or a packaged key (``small``, ``default``).
    """
    src = _as_source(source)
    out = converted_dir(src.key)
    if is_converted(src):
        return out
    with _convert_lock(src.key):
        if is_converted(src):  # another process finished it while we waited
            return out
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        gguf = src.gguf()
        tok = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
        # The weights are plain fp32 tensors now; drop the GGUF quantizer marks so the model saves
        # and later loads as an ordinary (trainable) checkpoint.
        model.hf_quantizer = None
        model.is_quantized = False
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        tmp = out.with_name(f"{out.name}.tmp{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        try:
            model.save_pretrained(tmp)
            tok.save_pretrained(tmp)
            (tmp / STAMP).write_text(json.dumps(src.stamp()))
            shutil.rmtree(out, ignore_errors=True)
            out.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp, out)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return out


_LOADED: dict[tuple[str, str], BaseModel] = {}
_LOAD_LOCK = threading.Lock()


def cpu_has_bf16() -> bool:
    """Whether the CPU computes bfloat16 natively (AVX512-BF16 or AMX), which makes bf16 ~4x faster."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return any(f in flags.split() for f in ("avx512_bf16", "amx_bf16"))


def resolve_dtype(dtype: str) -> str:
    """``auto`` → bfloat16 where the CPU has native bf16, else float32."""
    if dtype == "auto":
        return "bfloat16" if cpu_has_bf16() else "float32"
    if dtype not in ("bfloat16", "float32"):
        raise ValueError(f"unsupported dtype {dtype!r}; use auto, bfloat16 or float32")
    return dtype


def set_threads(threads: int) -> None:
    import torch

    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)


def load_base(
    source: BaseSource | str = "small", *, dtype: str = "auto", threads: int = DEFAULT_THREADS
) -> BaseModel:
    """The base model of ``source`` (a :class:`BaseSource` or packaged key; converted on first use)
    in ``dtype``, loaded once per process.

    The converted copy on disk is fp32; frozen base weights are cast to ``dtype`` at load, while
    LoRA adapter weights are always kept in fp32.
    """
    src = _as_source(source)
    key = src.key
    dt = resolve_dtype(dtype)
    with _LOAD_LOCK:
        set_threads(threads)
        if (key, dt) in _LOADED:
            return _LOADED[(key, dt)]
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        path = convert(src)
        tok = AutoTokenizer.from_pretrained(path)
        model = AutoModelForCausalLM.from_pretrained(path, dtype=getattr(torch, dt))
        model.eval()
        for p in model.parameters():
            p.requires_grad_(False)
        base = BaseModel(key=key, model=model, tokenizer=tok, path=path, dtype=dt, source=src)
        _LOADED[(key, dt)] = base
        return base


def adapter_free(base: BaseModel) -> bool:
    """True when no LoRA layer is attached to the base model."""
    return not any("lora_" in name for name, _ in base.model.named_modules())


@contextlib.contextmanager
def with_adapter(
    base: BaseModel, settings: LoraSettings, state: dict[str, Any] | None = None, *, seed: int = 0
) -> Iterator[Any]:
    """Attach a LoRA adapter to the base model for the block; yield the peft model.

    ``state`` (from :func:`adapter_state`) restores a trained adapter; without it the adapter is
    fresh (its B matrices are zero, so it starts out equal to the base model). The adapter is
    always removed afterwards, leaving the base weights untouched.
    """
    import torch
    from peft import get_peft_model, set_peft_model_state_dict

    with base.lock:
        if not adapter_free(base):
            raise RuntimeError("the base model still carries an adapter from an earlier run")
        torch.manual_seed(seed)
        peft_model = get_peft_model(base.model, settings.config())
        try:
            if state is not None:
                result = set_peft_model_state_dict(peft_model, state)
                if result.unexpected_keys:
                    raise ValueError(f"adapter state has unexpected keys: {result.unexpected_keys[:3]}")
            yield peft_model
        finally:
            restored = peft_model.unload()
            if restored is not base.model:
                base.model = restored
            base.model.eval()
            for p in base.model.parameters():
                p.requires_grad_(False)


def adapter_state(peft_model: Any) -> dict[str, Any]:
    """A detached copy of the adapter weights (small: a few MB)."""
    from peft import get_peft_model_state_dict

    return {k: v.detach().clone() for k, v in get_peft_model_state_dict(peft_model).items()}


def prompt_ids(base: BaseModel, messages: Sequence[Message]) -> list[int]:
    """Token ids of a chat prompt ending with the opened assistant turn."""
    ids = base.tokenizer.apply_chat_template(list(messages), tokenize=True, add_generation_prompt=True)
    if isinstance(ids, dict) or hasattr(ids, "keys"):
        ids = ids["input_ids"]
    return [int(i) for i in ids]


def reply_ids(base: BaseModel, reply: str) -> list[int]:
    """Token ids of an assistant reply followed by the end-of-turn token."""
    tok = base.tokenizer
    return tok(reply, add_special_tokens=False)["input_ids"] + [tok.convert_tokens_to_ids("<|im_end|>")]


def generate(
    base: BaseModel,
    model: Any,
    messages: Sequence[Message],
    *,
    max_new_tokens: int,
    temperature: float,
    top_p: float = 0.95,
    seed: int = 0,
) -> Generated:
    """One chat reply from ``model`` (the base model or a peft model on it). Caller holds the lock."""
    import torch

    tok = base.tokenizer
    ids = prompt_ids(base, messages)
    input_ids = torch.tensor([ids])
    kwargs: dict[str, Any] = {
        "max_new_tokens": max_new_tokens,
        "pad_token_id": tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id,
        "eos_token_id": [tok.convert_tokens_to_ids("<|im_end|>"), tok.convert_tokens_to_ids("<|endoftext|>")],
    }
    if temperature > 0:
        kwargs.update(do_sample=True, temperature=temperature, top_p=top_p, top_k=0)
    else:
        kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
    model.eval()
    torch.manual_seed(seed)
    t0 = time.perf_counter()
    with torch.no_grad():
        out = model.generate(input_ids=input_ids, attention_mask=torch.ones_like(input_ids), **kwargs)
    new = out[0, len(ids) :].tolist()
    text = tok.decode(new, skip_special_tokens=True)
    return Generated(
        text=text,
        prompt=tok.decode(ids),
        prompt_tokens=len(ids),
        completion_tokens=len(new),
        latency_s=time.perf_counter() - t0,
    )


def base_reply(
    base: BaseModel,
    messages: Sequence[Message],
    *,
    max_new_tokens: int,
    temperature: float,
    seed: int,
    top_p: float = 0.95,
) -> tuple[Generated, bool]:
    """The base model's own reply (no adapter), and whether it came from the in-process cache."""
    key = json.dumps([list(messages), max_new_tokens, temperature, top_p, seed], ensure_ascii=False)
    with base.lock:
        if key in base.base_reply_cache:
            return base.base_reply_cache[key], True
        if not adapter_free(base):
            raise RuntimeError("base replies must come from the base model without an adapter")
        gen = generate(
            base,
            base.model,
            messages,
            max_new_tokens=max_new_tokens,
            temperature=temperature,
            top_p=top_p,
            seed=seed,
        )
        base.base_reply_cache[key] = gen
        return gen, False
