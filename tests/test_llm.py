"""LLM backends: the packaged model, the local backend, and litellm against a real
OpenAI-compatible server (llama-cpp-python's) on 127.0.0.1."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from sharehouse.llm import GenParams, LLMError, TransientLLMError, load_model, parse_spec
from sharehouse.llm.models import PACKAGED_MODELS, ensure_model
from sharehouse.llm.retry import RetryingModel, RetryPolicy


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


@pytest.mark.model
async def test_local_json_schema_output(small_model) -> None:
    schema = {"type": "object", "properties": {"answered": {"type": "boolean"}}, "required": ["answered"]}
    comp = await small_model.complete(
        [{"role": "user", "content": "Is 'I like tea' an answer to 'what do you drink?' Reply in JSON."}],
        GenParams(max_tokens=20, temperature=0, json_schema=schema),
    )
    assert isinstance(json.loads(comp.text)["answered"], bool)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def openai_server(tmp_path_factory):
    """llama-cpp-python's OpenAI-compatible server with the packaged small model, on 127.0.0.1."""
    port = _free_port()
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    log = (tmp_path_factory.mktemp("server") / "server.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(ensure_model("small")), "--host", "127.0.0.1",
         "--port", str(port), "--n_ctx", "2048", "--model_alias", "house-small"],
        stdout=log, stderr=subprocess.STDOUT, env=env,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}; see {log.name}")
        try:
            with urllib.request.urlopen(base + "/v1/models", timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            time.sleep(0.5)
    else:
        proc.kill()
        raise RuntimeError(f"server did not start in 300 s; see {log.name}")
    yield base + "/v1"
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


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
        api_base=f"http://127.0.0.1:{_free_port()}/v1",
        retry=RetryPolicy(max_attempts=2, base_delay_s=0.01),
    )
    with pytest.raises(LLMError, match="gave up after 2 attempts"):
        await model.complete([{"role": "user", "content": "hi"}], GenParams(max_tokens=5))
