"""LLM backends: the packaged model, the local backend, and litellm against a real
OpenAI-compatible server (llama-cpp-python's) on 127.0.0.1."""

from __future__ import annotations

import json
import threading
import time

import pytest
from faultserver import refused_url

from sharehouse.llm import GenParams, LLMError, TransientLLMError, load_model, parse_spec
from sharehouse.llm.models import PACKAGED_MODELS, ensure_model
from sharehouse.llm.retry import RetryingModel, RetryPolicy
from sharehouse.serving.model_server import ModelServer


def test_parse_spec_forms() -> None:
    assert parse_spec("local").model == "default"
    assert parse_spec("local:small").model == "small"
    assert parse_spec("local:/x/y.gguf").model == "/x/y.gguf"
    cfg = parse_spec("openai/gpt-4o-mini", api_base="http://127.0.0.1:1/v1")
    assert (cfg.backend, cfg.model, cfg.api_base) == (
        "litellm",
        "openai/gpt-4o-mini",
        "http://127.0.0.1:1/v1",
    )
    assert parse_spec("litellm:anthropic/claude").model == "anthropic/claude"
    with pytest.raises(ValueError):
        parse_spec("local:nonsense")
    # "+batch" on every local form: the same local model, batched (never a litellm model "local+batch").
    for spec, model in (("local+batch", "default"), ("local:small+batch", "small"),
                        ("local:/x/y.gguf+batch", "/x/y.gguf"), ("/x/y.gguf+batch", "/x/y.gguf")):  # fmt: skip
        cfg = parse_spec(spec)
        assert (cfg.backend, cfg.model, cfg.batched) == ("local", model, True), spec
        assert parse_spec(cfg.spec) == cfg  # the recorded spec reads back the same
    assert not parse_spec("local:small").batched
    with pytest.raises(ValueError, match="applies only to local models"):
        parse_spec("openai/gpt-4o-mini+batch")
    with pytest.raises(ValueError, match="unknown local model 'nonsense'"):
        parse_spec("local:nonsense+batch")


def test_load_model_builds_what_parse_spec_describes() -> None:
    from sharehouse.llm.batch import BatchedLocalModel
    from sharehouse.llm.local import LocalModel
    from sharehouse.llm.remote import RemoteModel

    path = str(ensure_model("small"))
    for spec in (
        "local:small",
        "local:small+batch",
        path,
        path + "+batch",
        f"local:{path}+batch",
        "openai/x",
    ):
        cfg = parse_spec(spec)
        inner = load_model(spec, ram_cache_bytes=0).inner  # nothing is loaded until the first call
        expected = BatchedLocalModel if cfg.batched else LocalModel if cfg.backend == "local" else RemoteModel
        assert type(inner) is expected, spec
    assert load_model("local:small", batched=True, n_seq=3, ram_cache_bytes=0).inner.n_seq == 3
    with pytest.raises(ValueError, match="only to local models"):
        load_model("openai/x", batched=True)


def test_llama_cpp_runtime_errors_become_llm_errors() -> None:
    from sharehouse.llm.local import llama_failure

    full = llama_failure("m", RuntimeError("llama_decode returned 1"))  # no room in the KV cache
    assert isinstance(full, TransientLLMError) and "llama_decode returned 1" in str(full)
    assert isinstance(llama_failure("m", RuntimeError("llama_decode returned 2")), TransientLLMError)
    invalid = llama_failure("m", RuntimeError("llama_decode returned -1"))  # a bad batch: retrying won't help
    assert isinstance(invalid, LLMError) and not isinstance(invalid, TransientLLMError)


def test_packaged_model_assembles_with_pinned_checksum() -> None:
    path = ensure_model("small")
    assert path.stat().st_size == PACKAGED_MODELS["small"].size
    assert path.read_bytes()[:4] == b"GGUF"
    assert ensure_model("small") == path  # second call: stamp hit, no re-assembly


async def test_retry_gives_up_with_every_attempt_named() -> None:
    class Flaky:
        name = "flaky"
        calls = 0

        async def complete(self, messages, params):
            Flaky.calls += 1
            raise TransientLLMError("HTTP 500", retry_after=0.01)

        def close(self) -> None: ...

    model = RetryingModel(Flaky(), RetryPolicy(max_attempts=3, base_delay_s=0.01))
    with pytest.raises(LLMError, match="gave up after 3 attempts.*attempt 3"):
        await model.complete([{"role": "user", "content": "hi"}], GenParams())
    assert Flaky.calls == 3


@pytest.mark.model
async def test_local_model_generates_streams_and_reuses_prefix(small_model) -> None:
    msgs = [
        {"role": "system", "content": "You are a cheerful housemate. Answer in one short sentence."},
        {"role": "user", "content": "What should we cook tonight?"},
    ]
    pieces: list[str] = []
    first = await small_model.complete(msgs, GenParams(max_tokens=24, temperature=0, on_token=pieces.append))
    assert first.text and "".join(pieces) == first.text
    assert first.completion_tokens > 0 and first.prompt_tokens > 10
    again = await small_model.complete(msgs, GenParams(max_tokens=24, temperature=0))
    assert again.text == first.text  # temperature 0 is deterministic
    assert (
        again.evaluated_prompt_tokens is not None and again.evaluated_prompt_tokens < first.prompt_tokens / 2
    )


LONG = [{"role": "user", "content": "Count from 1 to 2000, one number per line, and nothing else."}]


@pytest.fixture
def fresh_small():
    """A LocalModel of its own (closing it must not touch the session's shared model)."""
    from sharehouse.llm.local import LocalModel

    model = LocalModel(ensure_model("small"), name="local:small")
    model.load()
    yield model
    model.close()


def _decoding(model, steps: int = 4) -> threading.Event:
    """An event set once llama.cpp has run ``steps`` decode calls on ``model`` (prompt, then tokens):
    the test waits for the call to be generating, never for a length of time."""
    ctx = model.llama._ctx
    real_decode = ctx.decode
    seen = {"n": 0}
    event = threading.Event()

    def counting(*args, **kwargs):
        seen["n"] += 1
        if seen["n"] >= steps:
            event.set()
        return real_decode(*args, **kwargs)

    ctx.decode = counting
    return event


def _wait_until(predicate, timeout_s: float = 120.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting for the model to start generating"
        time.sleep(0.02)


def _start_long_call(model, params: GenParams) -> tuple[threading.Thread, list]:
    outcome: list = []

    def run() -> None:
        try:
            outcome.append(model.complete_blocking(LONG, params))
        except BaseException as exc:  # noqa: BLE001 - the test inspects whatever ended the call
            outcome.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


@pytest.mark.model
def test_close_cancels_a_running_non_streamed_local_call(fresh_small) -> None:
    from sharehouse.llm.local import ModelClosedError

    # Not streamed (like the judge's checks); unstopped it would generate for minutes.
    generating = _decoding(fresh_small)
    thread, outcome = _start_long_call(fresh_small, GenParams(max_tokens=3000, temperature=0.0))
    assert generating.wait(120), "the call never started decoding"  # prompt evaluated, tokens coming
    assert thread.is_alive() and not outcome
    began = time.perf_counter()
    fresh_small.close()
    assert time.perf_counter() - began < 5.0
    thread.join(5.0)
    assert len(outcome) == 1 and isinstance(outcome[0], ModelClosedError), outcome
    with pytest.raises(ModelClosedError):
        fresh_small.complete_blocking(LONG, GenParams(max_tokens=4))


@pytest.mark.model
def test_close_cancels_running_batched_calls(fresh_small) -> None:
    from sharehouse.llm.batch import BatchedLocalModel
    from sharehouse.llm.local import ModelClosedError

    batched = BatchedLocalModel(fresh_small, n_seq=2, ram_cache_bytes=0)
    calls = [_start_long_call(batched, GenParams(max_tokens=3000, temperature=0.0)) for _ in range(3)]
    _wait_until(lambda: batched.steps >= 3)  # two calls generate, the third waits for a free sequence
    assert not any(out for _, out in calls)
    began = time.perf_counter()
    batched.close()
    assert time.perf_counter() - began < 5.0
    for thread, outcome in calls:
        thread.join(5.0)
        assert len(outcome) == 1 and isinstance(outcome[0], ModelClosedError), outcome


@pytest.mark.model
def test_llama_cpp_decode_failure_is_transient_and_the_model_recovers(fresh_small, monkeypatch) -> None:
    llm = fresh_small.llama
    msgs = [{"role": "user", "content": "Say hi."}]
    real_decode = llm._ctx.decode
    calls = {"n": 0}

    def failing_decode(batch):  # llama.cpp's "no KV slot" failure cannot be provoked on demand
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("llama_decode returned 1")
        return real_decode(batch)

    monkeypatch.setattr(llm._ctx, "decode", failing_decode)
    with pytest.raises(TransientLLMError, match="llama_decode returned 1"):
        fresh_small.complete_blocking(msgs, GenParams(max_tokens=8, temperature=0.0))
    monkeypatch.setattr(llm._ctx, "decode", real_decode)
    again = fresh_small.complete_blocking(msgs, GenParams(max_tokens=8, temperature=0.0))
    assert again.text.strip() and again.evaluated_prompt_tokens == again.prompt_tokens  # a clean context


@pytest.mark.model
async def test_local_json_schema_output(small_model) -> None:
    schema = {"type": "object", "properties": {"answered": {"type": "boolean"}}, "required": ["answered"]}
    comp = await small_model.complete(
        [{"role": "user", "content": "Is 'I like tea' an answer to 'what do you drink?' Reply in JSON."}],
        GenParams(max_tokens=20, temperature=0, json_schema=schema),
    )
    assert isinstance(json.loads(comp.text)["answered"], bool)


@pytest.fixture(scope="module")
def openai_server(tmp_path_factory):
    """llama-cpp-python's OpenAI-compatible server with the packaged small model, on 127.0.0.1
    (started as ``sharehouse serve`` starts it)."""
    log_path = tmp_path_factory.mktemp("server") / "server.log"
    with ModelServer(ensure_model("small"), alias="house-small", n_ctx=2048, log_path=log_path) as server:
        yield server.endpoint.api_base


@pytest.mark.model
async def test_litellm_backend_against_local_openai_server(openai_server) -> None:
    model = load_model("openai/house-small", api_base=openai_server)
    msgs = [{"role": "user", "content": "Say hello to your new housemate in one short sentence."}]
    comp = await model.complete(msgs, GenParams(max_tokens=24, temperature=0, seed=1))
    assert comp.text.strip() and comp.model == "litellm:openai/house-small"
    assert comp.prompt_tokens > 0 and comp.completion_tokens > 0 and comp.latency_s > 0
    pieces: list[str] = []
    streamed = await model.complete(
        msgs, GenParams(max_tokens=24, temperature=0, seed=1, on_token=pieces.append)
    )
    assert "".join(pieces) == streamed.text and streamed.text.strip()


@pytest.mark.model
async def test_json_schema_through_litellm_against_llama_cpp_server(openai_server) -> None:
    """llama-cpp-python's server refuses ``response_format`` type ``json_schema`` (the OpenAI form);
    the litellm backend then sends the schema as ``json_object`` + ``schema`` within the same call,
    so the reply check works in games served by ``sharehouse serve``."""
    model = load_model("openai/house-small", api_base=openai_server, timeout_s=300.0)
    schema = {"type": "object", "properties": {"answered": {"type": "boolean"}}, "required": ["answered"]}
    msgs = [{"role": "user", "content": "Is 'I like tea' an answer to 'what do you drink?' Reply in JSON."}]
    for _ in range(2):  # the second call goes straight to the form the server takes
        comp = await model.complete(msgs, GenParams(max_tokens=20, temperature=0, json_schema=schema))
        assert isinstance(json.loads(comp.text)["answered"], bool)
        assert comp.attempts == 1


@pytest.mark.model
async def test_session_day_through_litellm(openai_server, store, scenario) -> None:
    from sharehouse.engine.session import EngineParams, SessionRunner, start_session
    from sharehouse.engine.users import ScriptedUser

    model = load_model("openai/house-small", api_base=openai_server)
    rec = start_session(store, scenario, kind="simulated", source="test", user_id="u", language="ja")
    runner = SessionRunner(
        store, scenario, rec.id, npc_model=model,
        user=ScriptedUser(["宝くじが当たったら、まず家族と旅行に行きたいです。"]),
        params=EngineParams(seed=0, npc=GenParams(max_tokens=60, temperature=0.0)),
    )  # fmt: skip
    turn = await runner.step()
    assert turn.message and turn.npc_latency_s and turn.npc_latency_s > 0
    assert store.load_turns(rec.id)[0].response.startswith("宝くじ")


async def test_unreachable_api_is_a_clear_error() -> None:
    model = load_model(
        "openai/none",
        api_base=refused_url(),
        retry=RetryPolicy(max_attempts=2, base_delay_s=0.01),
    )
    with pytest.raises(LLMError, match="gave up after 2 attempts"):
        await model.complete([{"role": "user", "content": "hi"}], GenParams(max_tokens=5))
