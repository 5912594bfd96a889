"""The embedding cache: sentence vectors keyed by (encoder name, sha256 of the text).

Vectors are stored as little-endian float32 bytes. Lookups and inserts take whole batches, so
scoring a run costs one SELECT and at most one INSERT per encoder.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence

import numpy as np

from sharehouse.store.db import Store

_DTYPE = np.dtype("<f4")


def text_sha256(text: str) -> str:
    """The cache key of a text: hex sha256 of its UTF-8 bytes."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def get_embeddings(store: Store, model: str, hashes: Sequence[str]) -> dict[str, np.ndarray]:
    """The cached vectors among ``hashes`` for ``model`` (missing ones are simply absent)."""
    if not hashes:
        return {}
    rows = store.fetchall(
        "SELECT text_sha256, dim, vector FROM embeddings "
        "WHERE model = ? AND text_sha256 IN (SELECT unnest(?::VARCHAR[]))",
        [model, list(dict.fromkeys(hashes))],
    )
    out: dict[str, np.ndarray] = {}
    for sha, dim, blob in rows:
        vec = np.frombuffer(blob, dtype=_DTYPE)
        if vec.shape[0] == dim:
            out[sha] = vec.astype(np.float32)
    return out


def put_embeddings(store: Store, model: str, vectors: Mapping[str, np.ndarray]) -> int:
    """Cache vectors (sha256 -> 1-D array) for ``model``; existing keys are kept. Returns the count sent."""
    if not vectors:
        return 0
    by_dim: dict[int, tuple[list[str], list[bytes]]] = {}
    for sha, vec in vectors.items():
        arr = np.ascontiguousarray(vec, dtype=_DTYPE).reshape(-1)
        keys, blobs = by_dim.setdefault(arr.shape[0], ([], []))
        keys.append(sha)
        blobs.append(arr.tobytes())
    with store.transaction() as conn:
        for dim, (keys, blobs) in by_dim.items():
            conn.execute(
                "INSERT OR IGNORE INTO embeddings (model, text_sha256, dim, vector) "
                "SELECT ?, unnest(?::VARCHAR[]), ?, unnest(?::BLOB[])",
                [model, keys, dim, blobs],
            )
    return len(vectors)


def count_embeddings(store: Store, model: str | None = None) -> int:
    """How many vectors are cached (for one model, or for all)."""
    if model is None:
        row = store.fetchone("SELECT count(*) FROM embeddings")
    else:
        row = store.fetchone("SELECT count(*) FROM embeddings WHERE model = ?", [model])
    return int(row[0]) if row else 0


def clear_embeddings(store: Store, model: str | None = None) -> None:
    """Forget cached vectors (for one model, or all)."""
    with store.transaction() as conn:
        if model is None:
            conn.execute("DELETE FROM embeddings")
        else:
            conn.execute("DELETE FROM embeddings WHERE model = ?", [model])
