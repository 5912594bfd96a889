"""Encoders (M2, M6), the DuckDB embedding cache and the mpnet assembly checks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from evaluator.metrics import encoders
from evaluator.metrics.encoders import MINILM, MPNET, USEM3, EncoderError, embed, encoder_times
from evaluator.metrics.m2_sentence import cosine, sentence_similarity
from evaluator.metrics.m6_history import history_centroid, history_similarity
from sharehouse.store import Store
from sharehouse.store.embeddings import count_embeddings, get_embeddings, put_embeddings, text_sha256


def _encoded(name: str) -> int:
    t = encoder_times().get(name)
    return t.texts if t else 0


def test_migration_and_cache_roundtrip(tmp_path: Path) -> None:
    with Store(tmp_path / "s.duckdb") as store:
        assert store.schema_version() >= 2
        vecs = {
            text_sha256("a"): np.arange(4, dtype=np.float32),
            text_sha256("b"): np.ones(4, dtype=np.float32),
        }
        put_embeddings(store, "enc", vecs)
        put_embeddings(store, "enc", {text_sha256("a"): np.zeros(4, dtype=np.float32)})  # kept, not replaced
        got = get_embeddings(store, "enc", [text_sha256("a"), text_sha256("b"), text_sha256("c")])
        assert set(got) == {text_sha256("a"), text_sha256("b")}
        assert np.array_equal(got[text_sha256("a")], np.arange(4, dtype=np.float32))
        assert get_embeddings(store, "other", [text_sha256("a")]) == {}
        assert count_embeddings(store, "enc") == 2
    with Store(tmp_path / "s.duckdb") as again:  # reopening does not migrate twice
        assert again.schema_version() >= 2 and count_embeddings(again) == 2


def test_embed_hits_store_cache_on_second_run(tmp_path: Path) -> None:
    texts = ["cache test one", "キャッシュのテスト", "缓存测试", "cache test one"]
    with Store(tmp_path / "s.duckdb") as store:
        first = embed(texts, USEM3, store=store)
        assert first.shape == (4, 512)
        assert np.allclose(np.linalg.norm(first, axis=1), 1.0, atol=1e-5)
        assert np.array_equal(first[0], first[3])
        assert count_embeddings(store, USEM3) == 3
        encoders.clear_memory_cache()
        before = _encoded(USEM3)
        second = embed(texts, USEM3, store=store)
        assert _encoded(USEM3) == before  # all three came from DuckDB
        assert np.allclose(first, second)
    encoders.clear_memory_cache()
    embed(["cache test one"], USEM3)
    before = _encoded(USEM3)
    embed(["cache test one"], USEM3)  # no store: the in-memory cache answers
    assert _encoded(USEM3) == before
    assert embed([], USEM3).shape == (0, 512)


def test_minilm_sentence_similarity() -> None:
    vecs = embed(
        ["I love cooking for my housemates.", "I love cooking for my housemates.", "The stock market fell."],
        MINILM,
    )
    assert vecs.shape == (3, 384)
    assert sentence_similarity(vecs[0], vecs[1]) == pytest.approx(1.0, abs=1e-5)
    assert sentence_similarity(vecs[0], vecs[2]) < 0.5
    assert cosine(np.zeros(3), np.ones(3)) == 0.0


def test_mpnet_history_similarity() -> None:
    history = [
        "Sure, I can help clean the kitchen.",
        "Let's split the chores evenly.",
        "I usually cook on weekends.",
    ]
    vecs = embed(
        [*history, "I'll take care of the dishes tonight.", "Quantum chromodynamics is hard."], MPNET
    )
    assert vecs.shape == (5, 768)
    centroid = history_centroid(vecs[:3])
    near = history_similarity(vecs[3], centroid)
    far = history_similarity(vecs[4], centroid)
    assert near is not None and far is not None and -1.0 <= far < near <= 1.0
    assert history_similarity(vecs[0], history_centroid(vecs[:1])) == pytest.approx(1.0, abs=1e-5)
    assert history_similarity(vecs[0], history_centroid(np.zeros((0, 768)))) is None


def test_mpnet_chunks_come_from_the_packages() -> None:
    chunks = encoders.mpnet_chunks()
    assert [c.name for c in chunks] == [f"all-mpnet-base-v2.zip.{i:03d}" for i in range(1, 6)]
    assert all(c.is_file() for c in chunks)


def test_mpnet_assembly_rejects_bad_chunks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = [tmp_path / f"part{i}" for i in range(2)]
    for f in fake:
        f.write_bytes(b"not a model")
    monkeypatch.setattr(encoders, "mpnet_chunks", lambda: fake)
    with pytest.raises(EncoderError, match="sha256"):
        encoders.ensure_mpnet(tmp_path / "cache")
    assert not (tmp_path / "cache" / "encoders" / MPNET).exists()
    assert list((tmp_path / "cache" / "encoders").iterdir()) == []  # no half-written leftovers


def test_cache_root_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The encoders and the GGUF models share one cache: the same variable, ``~`` handled alike."""
    from sharehouse.llm.models import cache_root as model_cache

    monkeypatch.setenv("SHAREHOUSE_CACHE", str(tmp_path))
    assert encoders.cache_root() == tmp_path == model_cache()
    monkeypatch.setenv("SHAREHOUSE_CACHE", "~/somewhere")
    assert encoders.cache_root() == Path.home() / "somewhere" == model_cache()
    monkeypatch.delenv("SHAREHOUSE_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert encoders.cache_root() == tmp_path / "xdg" / "sharehouse" == model_cache()


@pytest.mark.slow
def test_mpnet_assembles_and_verifies(tmp_path: Path) -> None:
    target = encoders.ensure_mpnet(tmp_path)
    assert (target / "model.safetensors").stat().st_size == 437971872
    assert (target / ".sharehouse-verified").read_text().strip() == encoders.MPNET_ZIP_SHA256
    assert encoders.ensure_mpnet(tmp_path) == target  # second call only checks the mark
    assert not list((tmp_path / "encoders").glob(".tmp-*"))


def test_unknown_encoder() -> None:
    with pytest.raises(EncoderError, match="unknown encoder"):
        encoders.get_encoder("no-such-encoder")
