"""Every fault of an OpenAI-compatible server surfaces as a retryable error and is retried."""

from __future__ import annotations

import time

import pytest
from faultserver import FAULTS, LINES, FaultConfig, FaultServer

from sharehouse.llm import GenParams, LLMError, TransientLLMError, load_model
from sharehouse.llm.retry import RetryPolicy

ALL_LINES = {line for lines in LINES.values() for line in lines}

FAST = RetryPolicy(max_attempts=2, base_delay_s=0.01, max_delay_s=0.05, jitter=0.0)
MESSAGES = [{"role": "user", "content": "Say something."}]


@pytest.fixture
def server():
    with FaultServer(FaultConfig(timeout_sleep_s=10.0, retry_after_s=0.05, lifetime_s=60)) as srv:
        yield srv


def _params(stream: bool, schema: bool = False) -> GenParams:
    return GenParams(
        max_tokens=20,
        on_token=(lambda _t: None) if stream else None,
        json_schema={"type": "object"} if schema else None,
    )


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
@pytest.mark.parametrize("fault", FAULTS)
async def test_each_fault_is_transient_then_retried(server: FaultServer, fault: str, stream: bool) -> None:
    # 1.5 s: a loaded machine can hold a healthy loopback reply past half a second
    model = load_model("openai/fake", api_base=server.api_base, timeout_s=1.5, retry=FAST)
    server.set_script([fault])
    with pytest.raises(TransientLLMError):
        await model.inner.complete(MESSAGES, _params(stream))  # the backend alone: one attempt, no retry
    server.set_script([fault, "ok"])
    comp = await model.complete(MESSAGES, _params(stream))
    assert comp.attempts == 2
    assert comp.text in ALL_LINES
    assert server.counts[fault] == 2 and server.counts["ok"] == 1


async def test_json_schema_requests_get_valid_json(server: FaultServer) -> None:
    model = load_model("openai/fake", api_base=server.api_base, timeout_s=2.0, retry=FAST)
    comp = await model.complete(MESSAGES, _params(False, schema=True))
    assert comp.text == '{"answered": true, "reason": "ok"}'
    sent = server.requests[-1].json()
    assert sent["response_format"]["type"] == "json_schema"


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
async def test_retry_after_is_read_and_honoured(server: FaultServer, stream: bool) -> None:
    server.config.retry_after_s = 0.6
    # Own backoff 0.01 s; Retry-After is honoured up to 3 x max_delay_s (1.5 s here).
    policy = RetryPolicy(max_attempts=2, base_delay_s=0.01, max_delay_s=0.5, jitter=0.0)
    model = load_model("openai/fake", api_base=server.api_base, timeout_s=2.0, retry=policy)
    server.set_script(["429"])
    with pytest.raises(TransientLLMError) as info:
        await model.inner.complete(MESSAGES, _params(stream))
    assert info.value.retry_after == pytest.approx(0.6)
    server.set_script(["429", "ok"])
    started = time.perf_counter()
    comp = await model.complete(MESSAGES, _params(stream))
    waited = time.perf_counter() - started
    assert comp.attempts == 2
    assert waited >= 0.6


async def test_exhausted_retries_name_every_attempt(server: FaultServer) -> None:
    model = load_model(
        "openai/fake", api_base=server.api_base, timeout_s=1.5, retry=RetryPolicy(3, 0.01, 0.02)
    )
    server.set_script(["500", "drop", "malformed"])
    with pytest.raises(LLMError) as info:
        await model.complete(MESSAGES, _params(False))
    assert not isinstance(info.value, TransientLLMError)
    msg = str(info.value)
    assert "gave up after 3 attempts" in msg
    for n in (1, 2, 3):
        assert f"attempt {n}:" in msg
    assert model.retries == 2


async def test_timeout_is_bounded_by_the_client_timeout(server: FaultServer) -> None:
    model = load_model("openai/fake", api_base=server.api_base, timeout_s=0.4, retry=RetryPolicy(1))
    server.set_script(["timeout"])
    started = time.perf_counter()
    with pytest.raises(LLMError):
        await model.complete(MESSAGES, _params(True))
    assert time.perf_counter() - started < 8  # the server would have held the request for 10 s


def test_the_server_is_bounded() -> None:
    import socket
    import urllib.parse
    import urllib.request

    srv = FaultServer(FaultConfig(lifetime_s=3.0, max_requests=2)).start()
    base = srv.api_base
    body = b'{"model": "fake", "messages": [{"role": "user", "content": "hi"}]}'
    for _ in range(2):
        req = urllib.request.Request(
            base + "/chat/completions", data=body, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(req, timeout=2) as resp:
            assert resp.status == 200
    req = urllib.request.Request(
        base + "/chat/completions", data=body, headers={"Content-Type": "application/json"}
    )
    with pytest.raises(OSError):
        urllib.request.urlopen(req, timeout=2)  # past max_requests: the connection is dropped
    host, port = urllib.parse.urlsplit(base).hostname, urllib.parse.urlsplit(base).port
    deadline = time.monotonic() + 15
    while True:  # past its lifetime (3 s): nobody listens any more (a bare connect, no request)
        try:
            socket.create_connection((host, port), timeout=2).close()
        except OSError:
            break
        assert time.monotonic() < deadline, "the server still listens 15 s after its lifetime"
        time.sleep(0.2)
    with pytest.raises(OSError):
        urllib.request.urlopen(req, timeout=2)
    assert srv.total == 3
