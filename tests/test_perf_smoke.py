"""Tiny versions of the benchmarks in bench/: the KV state cache, batched decoding, the API path and the
RESULTS.md writer. Model tests use the packaged 0.5B model and take seconds each."""

from __future__ import annotations

import asyncio
import json
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from bench.common import RecordingModel, common_prefix, write_section
from bench.fake_openai import FakeOpenAI
from sharehouse.llm.base import GenParams
from sharehouse.llm.local import SeqStateCache, common_prefix_len

SCHEMA = {
    "type": "object",
    "properties": {"answered": {"type": "boolean"}, "reason": {"type": "string"}},
    "required": ["answered", "reason"],
    "additionalProperties": False,
}


def _story(i: int, extra: str = "") -> list[dict[str, str]]:
    who = ["Anna, a gardener", "Ben, a train driver", "Chen, a cook", "Dana, a painter"][i % 4]
    return [
        {"role": "system", "content": f"You are {who}. " + "You speak in short, friendly sentences. " * 12},
        {"role": "user", "content": f"Tell me about your day.{extra}"},
    ]


@pytest.fixture(scope="module")
def small_base():
    from sharehouse.llm.local import LocalModel
    from sharehouse.llm.models import ensure_model

    model = LocalModel(ensure_model("small"), name="local:small", ram_cache_bytes=256 << 20)
    yield model
    model.close()


@pytest.fixture(scope="module")
def batched(small_base):
    from sharehouse.llm.batch import BatchedLocalModel

    model = BatchedLocalModel(small_base, n_seq=3, ram_cache_bytes=256 << 20)
    yield model
    model.close()


def test_state_cache_prefix_lookup_supersede_and_eviction() -> None:
    cache = SeqStateCache(capacity_bytes=10_000)
    cache.put([1, 2, 3], b"a" * 100)
    cache.put([1, 2, 3, 4, 5], b"b" * 100)  # extends the first: the first is dropped
    cache.put([1, 9, 9], b"c" * 100)
    assert len(cache) == 2
    entry, shared = cache.lookup(np.array([1, 2, 3, 4, 7], dtype=np.int32))
    assert entry is not None and entry.data[:1] == b"b" and shared == 4
    assert cache.lookup(np.array([5, 5], dtype=np.int32)) == (None, 0)
    for i in range(100):
        cache.put([7, i], b"x" * 1000)
    assert cache.size_bytes <= 10_000 and len(cache) < 20
    assert common_prefix_len(np.array([1, 2], dtype=np.int32), np.array([1, 2, 3], dtype=np.int32)) == 2
    assert common_prefix([1, 2, 3], [1, 2, 4]) == 2


def test_write_section_replaces_only_its_own(tmp_path: Path) -> None:
    path = tmp_path / "RESULTS.md"
    path.write_text("# Benchmarks\n\n## Scoring (x)\n\nold scoring\n\n## Batched decoding (y)\n\nold batch\n")
    write_section("Batched decoding (y)", "newer batch", path)
    write_section("Memory (z)", "memory figures", path)
    text = path.read_text()
    assert "old scoring" in text and "old batch" not in text and "newer batch" in text
    assert text.index("## Scoring") < text.index("## Batched") < text.index("## Memory")


@pytest.mark.model
def test_interleaved_prompts_restore_their_own_prefix(small_base) -> None:
    """Two conversations interleave; each call evaluates only what is new since its own last call."""

    async def go() -> list[tuple[int, int]]:
        out = []
        for turn in range(2):
            for who in (0, 1):
                comp = await small_base.complete(
                    _story(who, " And then?" * turn), GenParams(max_tokens=4, temperature=0)
                )
                out.append((comp.prompt_tokens, comp.evaluated_prompt_tokens))
        return out

    calls = asyncio.run(go())
    (p0, e0), _, (p2, e2), (p3, e3) = calls
    assert p2 > 100 and p3 > 100
    assert e0 == p0  # cold
    assert e2 is not None and e3 is not None
    assert e2 <= 16 and e3 <= 16  # only the new words and the chat markup after them, not the system prompt
    assert small_base.restored_tokens > 0


@pytest.mark.model
def test_batched_matches_plain_greedy_and_decodes_together(small_base, batched) -> None:
    params = GenParams(max_tokens=12, temperature=0.0)
    plain = asyncio.run(small_base.complete(_story(2), params))

    async def together() -> list:
        return await asyncio.gather(*(batched.complete(_story(i), params) for i in range(3)))

    steps = batched.steps
    results = asyncio.run(together())
    assert results[2].text == plain.text  # same greedy tokens as llama-cpp-python's own path
    assert all(r.completion_tokens > 0 for r in results)
    generated = sum(r.completion_tokens for r in results)
    assert batched.steps - steps < generated  # several sequences shared decode steps


@pytest.mark.model
def test_batched_stop_strings_json_and_prefix_reuse(batched) -> None:
    async def go():
        stop = await batched.complete(_story(0), GenParams(max_tokens=40, temperature=0.0, stop=["."]))
        again = await batched.complete(_story(0, " Briefly."), GenParams(max_tokens=4, temperature=0.0))
        check = await batched.complete(
            [{"role": "user", "content": "Did 'I like tea' answer 'What do you drink?' Reason in 3 words."}],
            GenParams(max_tokens=80, temperature=0.0, json_schema=SCHEMA),
        )
        return stop, again, check

    stop, again, check = asyncio.run(go())
    assert "." not in stop.text and stop.raw["finish_reason"] == "stop"
    assert (
        again.evaluated_prompt_tokens is not None and again.evaluated_prompt_tokens < again.prompt_tokens / 3
    )
    data = json.loads(check.text)
    assert isinstance(data["answered"], bool)


@pytest.mark.model
def test_batched_lazy_grammar_matches_grammar_first(small_base) -> None:
    """Checks sample without the JSON grammar and resample under it only when it rejects the token:
    the same greedy JSON as applying the grammar to the whole vocabulary at every token."""
    from sharehouse.llm.batch import BatchedLocalModel

    msgs = [{"role": "user", "content": "Did 'nothing much lol' answer 'What did you do at the weekend?' "
             "Reply in JSON with a 3-word reason."}]  # fmt: skip
    params = GenParams(max_tokens=40, temperature=0.0, json_schema=SCHEMA)
    texts = []
    for lazy in (True, False):
        model = BatchedLocalModel(small_base, n_seq=1, ram_cache_bytes=0, lazy_grammar=lazy)
        try:
            texts.append(model.complete_blocking(msgs, params).text)
            if lazy:
                assert model.grammar_resamples > 0  # the grammar did reject some first choices
        finally:
            model.close()
    assert texts[0] == texts[1]
    assert isinstance(json.loads(texts[0])["answered"], bool)


@pytest.mark.slow  # minutes of real simulate turns (280 s on a loaded 2-core machine): the bench's own job
@pytest.mark.model
def test_bench_simulate_smoke_records_reuse(tmp_path: Path, monkeypatch) -> None:
    """One persona, one day: the recorder sees every call and prefix reuse stays near the ideal."""
    from bench import bench_simulate

    fig = bench_simulate.run(model="local:small", personas=1, concurrency=1, days=1, ram_cache_mb=256)
    assert fig.calls >= 3 and fig.turns >= 1
    assert fig.new_tokens < fig.prompt_tokens
    assert fig.reuse_ratio <= 1.3
    assert 0.0 <= fig.overhead_share < 0.5


def test_recording_model_counts_new_tokens() -> None:
    class Echo:
        name = "echo"

        async def complete(self, messages, params):
            from sharehouse.llm.base import Completion

            return Completion(text="ok", model="echo", evaluated_prompt_tokens=1)

        def close(self) -> None:
            return None

    def tokenize(messages):
        return [ord(c) for m in messages for c in m["content"]]

    rec = RecordingModel(Echo(), tokenize=tokenize)

    async def go() -> None:
        await rec.complete([{"role": "user", "content": "Instruction: Day 2, hello"}], GenParams())
        await rec.complete([{"role": "user", "content": "Instruction: Day 2, hello there"}], GenParams())

    asyncio.run(go())
    first, second = rec.calls
    assert first.new_tokens == first.prompt_tokens and first.day == 2
    assert second.new_tokens == len(" there")


def test_fake_openai_server_answers_and_overlaps() -> None:
    with FakeOpenAI(latency_s=0.2) as server:
        body = json.dumps(
            {
                "model": "x",
                "messages": [{"role": "user", "content": "hi"}],
                "response_format": {"type": "json"},
            }
        ).encode()

        def call() -> dict:
            req = urllib.request.Request(
                server.api_base + "/chat/completions", data=body, headers={"Content-Type": "application/json"}
            )
            with urllib.request.urlopen(req, timeout=5) as resp:
                return json.loads(resp.read())

        async def many() -> list[dict]:
            return await asyncio.gather(*(asyncio.to_thread(call) for _ in range(4)))

        replies = asyncio.run(many())
        assert server.requests == 4 and server.max_in_flight >= 2
        assert json.loads(replies[0]["choices"][0]["message"]["content"])["answered"] is True


def test_bench_api_smoke() -> None:
    from bench import bench_api

    fig = bench_api.run(personas=3, concurrency=3, days=1, latency_s=0.2)
    assert fig.failed == 0 and fig.turns >= 3
    # Concurrency shows as overlapping requests at the server; how efficient it is on a loaded machine
    # is the benchmark's figure (bench/RESULTS.md), not a wall-clock bound in a test.
    assert fig.max_in_flight >= 2
    assert fig.efficiency > 0


@pytest.mark.model
def test_bench_batch_smoke() -> None:
    from bench import bench_batch

    fig = bench_batch.run(model="small", sessions=2, tokens=8, rounds=1)
    assert len(fig.raw_tps) == len(fig.single_tps) == len(fig.batched_tps) == len(fig.batched_decode_tps) == 1
    assert min(fig.raw_tps + fig.single_tps + fig.batched_tps + fig.batched_decode_tps) > 0
    # Decode-only excludes the prompts' prefill, so it is at least the prompt-included rate.
    assert fig.batched_decode_tps[0] >= fig.batched_tps[0]
    assert "ratio 2 concurrent" in bench_batch.report(fig) and "decode only / raw" in bench_batch.report(fig)


@pytest.mark.slow  # a real two-persona simulated day (18 min on a loaded 2-core machine)
@pytest.mark.model
def test_bench_memory_smoke() -> None:
    from bench import bench_memory

    fig = bench_memory.run(model="local:small", personas=2, days=1, concurrency=2)
    assert fig.peak_mb >= fig.start_mb > 100
    assert fig.extrapolated_mb >= fig.peak_mb
    assert fig.cache_mb <= fig.cache_cap_mb


@pytest.mark.model
def test_bench_evaluate_smoke(tmp_path: Path) -> None:
    """One English user, one turn, two methods and a one-step LoRA user: timed, extrapolated, written."""
    from bench import bench_evaluate

    fig = bench_evaluate.run(
        model="local:small", per_language=1, languages=["en"], methods=["zero-shot", "few-shot+style"],
        max_tokens=4, limit_turns=1, extra={"max_demos": 2}, lora_steps=1,
    )  # fmt: skip
    assert fig.total_users == 100 and fig.sampled_users == 1 and len(fig.sample["en"]) == 1
    assert sum(fig.turns_per_language.values()) > 100
    assert [m.method for m in fig.methods] == ["zero-shot", "few-shot+style"]
    for m in fig.methods:
        assert m.failed_users == 0 and m.predictions == 1 and len(m.all_user_s) == 1
        # one sampled user stands for every user of every language
        assert m.estimate_s(fig.users_per_language) == pytest.approx(m.all_user_s[0] * 100)
    assert fig.estimate_s == pytest.approx(sum(m.all_user_s[0] * 100 for m in fig.methods))
    assert fig.lora is not None and fig.lora.failed is None
    assert fig.lora.steps == 1 and fig.lora.predictions == 1 and fig.lora.fit_s > 0
    text = bench_evaluate.report(fig, label="Smoke: ")
    assert "extrapolations from 1 sampled users" in text and "max_steps 1 (not the default)" in text
    path = tmp_path / "RESULTS.md"
    write_section(bench_evaluate.SECTION, text, path)
    assert bench_evaluate.SECTION in path.read_text()
    # the sample is seeded: the same seed draws the same users, another seed (here) other ones
    from types import SimpleNamespace

    pool = [SimpleNamespace(user_id=f"en_{i}", language="en") for i in range(30)]
    draw = [
        [t.user_id for t in bench_evaluate.sample_tasks(pool, 3, seed, ["en"])["en"]] for seed in (5, 5, 6)
    ]
    assert draw[0] == draw[1] != draw[2] and len(set(draw[0])) == 3


@pytest.mark.model
def test_bench_reactions_smoke() -> None:
    """Two real Japanese exchanges, reacted to by the small local model: each line is a reaction and
    then the scenario's next question, or that question alone, and the summary counts both."""
    import asyncio

    from bench import bench_reactions
    from bench.bench_quality import DEFAULT_YNTP

    exchanges = bench_reactions.real_exchanges(DEFAULT_YNTP, "ja", 2, seed=0)
    assert len(exchanges) == 2 and all(e.answer.strip() for e in exchanges)
    figures = asyncio.run(bench_reactions.react("local:small", {"ja": exchanges}))["ja"]
    for r in figures.reactions:
        assert r.line.endswith(r.question) and (r.fallback or len(r.line) > len(r.question))
        assert r.calls == len(r.rejected) + (not r.fallback)
    summary = bench_reactions.summarise(figures)
    assert summary["lines"] == 2 and 1.0 <= summary["calls per line"] <= 3.0
    assert summary["fallbacks"] == sum(r.fallback for r in figures.reactions) / 2
