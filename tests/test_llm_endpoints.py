"""Many endpoints for one model (``--api-base`` with several URLs or a litellm Router config file,
:mod:`sharehouse.llm.endpoints`).

Fast tests: parsing (comma list, the option repeated, YAML and JSON configs, bad input named in the
error) and the pool's balancing, failover and cooldowns against real HTTP servers on 127.0.0.1 (the
fault server of the reliability tests, for 500s and 429s on demand; a port nobody listens on for a
dead endpoint). The model test: two llama-cpp-python servers on the packaged small model, a
``sharehouse simulate`` run spread over both, one server SIGKILLed mid-run at a seeded count of
requests it has answered (read from the servers' logs: no sleeps), and the run still finishing
with every turn stored and no failed session.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import typer
from faultserver import FaultConfig, FaultServer, cli_env, refused_url, sharehouse_argv
from typer.testing import CliRunner

from sharehouse.cli import app
from sharehouse.cli_common import api_base_option
from sharehouse.llm import GenParams, LLMError, TransientLLMError, load_model, parse_spec
from sharehouse.llm.endpoints import (
    ApiBaseError,
    EndpointPool,
    check_api_base,
    load_router_config,
    normalize_api_base,
    parse_api_base,
)
from sharehouse.llm.models import ensure_model
from sharehouse.llm.remote import RemoteModel
from sharehouse.llm.retry import RetryPolicy
from sharehouse.scenario import Scenario
from sharehouse.serving.model_server import ModelServer, ModelServerError, remote_endpoint
from sharehouse.store import Store

A, B, C = "http://127.0.0.1:8001/v1", "http://127.0.0.1:8002/v1", "https://gpu.example:443/v1"
HI = [{"role": "user", "content": "hi"}]
PARAMS = GenParams(max_tokens=8, temperature=0)
ONCE = RetryPolicy(max_attempts=1)


def dead_url() -> str:
    """An endpoint that refuses every connection (a server that has died); each call another one."""
    return refused_url()


def posts(srv: FaultServer) -> int:
    return sum(1 for r in srv.requests if r.method == "POST")


class Clock:
    """A monotonic clock the test moves by hand (cooldowns end when the test says so)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def pool_of(*api_bases: str, clock: Clock | None = None) -> EndpointPool:
    models = [RemoteModel("openai/fake", api_base=base, timeout_s=5.0) for base in api_bases]
    return EndpointPool(models, labels=list(api_bases), name="litellm:openai/fake", clock=clock or Clock())


# -- parsing ----------------------------------------------------------------------------------------
def test_comma_list_and_repeated_option_name_the_same_endpoints() -> None:
    assert parse_api_base(f"{A},{B}").urls == (A, B)
    assert parse_api_base([A, f" {B} , {C} "]).urls == (A, B, C)  # repeated, one of them a list
    assert normalize_api_base([A, f"{B},{C}"]) == f"{A},{B},{C}"
    assert parse_api_base(f"{A},{B},").many and not parse_api_base(A).many
    assert api_base_option([A, B]) == f"{A},{B}" and api_base_option(None) is None


@pytest.mark.parametrize(
    ("value", "named"),
    [
        ("", "no endpoint given"),
        (" , ", "no endpoint given"),
        ("localhost:8000/v1", "'localhost:8000/v1' is not a URL with http:// or https://"),
        (f"{A},ftp://files.example/v1", "'ftp://files.example/v1' is not an http:// or https:// URL"),
        ("http:///v1", "'http:///v1' is not an http:// or https:// URL with a host"),
        (f"{A},{A}", f"'{A}' is given twice"),
        (f"{A},router.yaml", "the Router config file 'router.yaml' must be the only endpoint"),
    ],
)
def test_bad_values_are_errors_that_name_them(value: str, named: str) -> None:
    with pytest.raises(ApiBaseError, match=re.escape(named)):
        parse_api_base(value)
    with pytest.raises(typer.BadParameter, match=re.escape(named)):
        api_base_option([value])


def test_one_url_is_the_plain_remote_model_as_before() -> None:
    model = load_model("openai/fake", api_base=A)
    assert type(model.inner) is RemoteModel and model.inner.api_base == A
    assert parse_spec("openai/fake", api_base=A).api_base == A
    pool = load_model("openai/fake", api_base=f"{A},{B}").inner
    assert isinstance(pool, EndpointPool) and [s.label for s in pool.stats()] == [A, B]
    # a local model ignores --api-base, as it always did
    assert parse_spec("local:small", api_base=f"{A},{B}").api_base is None


ROUTER_YAML = """\
model_list:
  - model_name: house
    litellm_params:
      model: openai/fake
      api_base: {a}
      api_key: os.environ/ENDPOINTS_TEST_TOKEN
  - model_name: house
    litellm_params:
      model: openai/fake
      api_base: {b}
      api_key: os.environ/ENDPOINTS_TEST_TOKEN
      max_retries: 5   # sharehouse retries itself: not passed on
    model_info: {{id: second}}
  - model_name: judge
    litellm_params: {{model: openai/other, api_base: "{a}"}}
router_settings:
  routing_strategy: simple-shuffle
"""


def router_file(tmp_path: Path, a: str, b: str, *, suffix: str = ".yaml") -> Path:
    path = tmp_path / f"router{suffix}"
    text = ROUTER_YAML.format(a=a, b=b)
    if suffix == ".json":
        import yaml

        text = json.dumps(yaml.safe_load(text))
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
async def test_router_config_file_yaml_or_json(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, suffix: str
) -> None:
    monkeypatch.setenv("ENDPOINTS_TEST_TOKEN", "token-from-env-1234")
    with FaultServer() as a, FaultServer() as b:
        path = router_file(tmp_path, a.api_base, b.api_base, suffix=suffix)
        assert load_router_config(path).model_names == ["house", "judge"]
        assert normalize_api_base([str(path)]) == str(path.resolve())
        cfg = parse_spec("house", api_base=str(path))
        assert cfg.backend == "litellm" and cfg.api_base == str(path)  # the path is recorded, never a key
        model = load_model("house", api_base=str(path), retry=ONCE)
        assert model.name == "litellm:house"
        for _ in range(4):
            assert (await model.complete(HI, PARAMS)).text
        assert posts(a) == 2 and posts(b) == 2
        sent = [r for r in a.requests + b.requests if r.method == "POST"]
        assert {r.headers["authorization"] for r in sent} == {"Bearer token-from-env-1234"}
        assert all(r.json()["model"] == "fake" for r in sent)


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("model_list: [\n", "is not valid YAML"),
        ("- just\n- a list\n", "has no model_list"),
        ("model_list: []\n", "model_list: List should have at least 1 item"),
        ("model_list:\n  - model_name: house\n    litellm_params: {api_base: \"http://x/v1\"}\n",
         "model_list.0.litellm_params.model: Field required"),
        ("model_list:\n  - model_name: house\n    litellm_params: {model: openai/x, api_base: \"x:80\"}\n",
         "'x:80' is not a URL with http:// or https://"),
    ],
)  # fmt: skip
def test_bad_router_config_files_are_named(tmp_path: Path, text: str, named: str) -> None:
    path = tmp_path / "router.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ApiBaseError, match=re.escape(named)) as err:
        check_api_base(str(path), model="house")
    assert str(path) in str(err.value)


def test_router_config_problems_outside_the_file_are_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ENDPOINTS_TEST_TOKEN", raising=False)
    path = router_file(tmp_path, A, B)
    with pytest.raises(
        ApiBaseError, match="reads the environment variable ENDPOINTS_TEST_TOKEN, which is not set"
    ):
        parse_spec("house", api_base=str(path))
    with pytest.raises(
        ApiBaseError, match=r"no model_list entry with model_name 'openai/fake'.*house, judge"
    ):
        parse_spec("openai/fake", api_base=str(path))
    with pytest.raises(ApiBaseError, match="cannot read the Router config file .*missing.yaml"):
        normalize_api_base([str(tmp_path / "missing.yaml")])
    (tmp_path / "folder.json").mkdir()
    with pytest.raises(ApiBaseError, match="cannot read the Router config file .*folder.json"):
        normalize_api_base([str(tmp_path / "folder.json")])
    bad_json = tmp_path / "router.json"
    bad_json.write_text("{model_list: []}", encoding="utf-8")
    with pytest.raises(ApiBaseError, match="router.json' is not valid JSON"):
        normalize_api_base([str(bad_json)])


# -- the pool ---------------------------------------------------------------------------------------
async def test_calls_alternate_one_at_a_time_and_spread_in_a_burst() -> None:
    with FaultServer(FaultConfig(latency_s=0.2)) as a, FaultServer(FaultConfig(latency_s=0.2)) as b:
        pool = pool_of(a.api_base, b.api_base)
        for _ in range(6):
            await pool.complete(HI, PARAMS)
        assert (posts(a), posts(b)) == (3, 3)
        # ten calls at once: each goes to the endpoint with the fewest in flight when it starts
        # (litellm's least-busy router sends all ten to one server: docs/scaling.md)
        await asyncio.gather(*(pool.complete(HI, PARAMS) for _ in range(10)))
        assert (posts(a), posts(b)) == (8, 8)
        assert [s.in_flight for s in pool.stats()] == [0, 0]


async def test_a_dead_endpoint_costs_no_attempt_and_rests_in_cooldown() -> None:
    clock = Clock()
    dead = dead_url()
    with FaultServer() as b:
        pool = pool_of(dead, b.api_base, clock=clock)
        comp = await pool.complete(HI, PARAMS)  # the dead one first (listed first), then b in the same call
        assert comp.text and posts(b) == 1 and pool.failovers == 1
        first, second = pool.stats()
        assert (first.requests, first.failures, first.cooldown_s) == (1, 1, 5.0)
        for _ in range(3):  # out of rotation: nothing is sent to it
            await pool.complete(HI, PARAMS)
        assert pool.stats()[0].requests == 1 and posts(b) == 4
        clock.now += 5.0  # back in rotation: the next call probes it, fails over, and it rests twice as long
        await pool.complete(HI, PARAMS)
        assert pool.stats()[0].requests == 2 and pool.stats()[0].cooldown_s == 10.0 and posts(b) == 5


async def test_calls_in_flight_when_an_endpoint_dies_make_one_outage_and_one_probe_follows() -> None:
    clock = Clock()
    dead = dead_url()
    with FaultServer() as b:
        pool = pool_of(dead, b.api_base, clock=clock)
        await asyncio.gather(*(pool.complete(HI, PARAMS) for _ in range(4)))  # two of them to the dead one
        first = pool.stats()[0]
        assert (first.requests, first.failures, first.cooldown_s) == (2, 2, 5.0)  # one outage: 5 s, not 10
        assert posts(b) == 4
        clock.now += 5.0  # back: of four calls at once, one probes it, the others go to b
        await asyncio.gather(*(pool.complete(HI, PARAMS) for _ in range(4)))
        assert pool.stats()[0].requests == 3 and pool.stats()[0].cooldown_s == 10.0 and posts(b) == 8


async def test_an_endpoint_that_recovers_is_used_again() -> None:
    clock = Clock()
    with FaultServer(FaultConfig(script=["500", "500"])) as a, FaultServer() as b:
        pool = pool_of(a.api_base, b.api_base, clock=clock)
        await pool.complete(HI, PARAMS)  # a: 500 -> b
        assert pool.stats()[0].cooldown_s == 5.0
        clock.now += 5.0
        await pool.complete(HI, PARAMS)  # a probed: 500 again -> b; a rests 10 s
        assert pool.stats()[0].cooldown_s == 10.0
        clock.now += 10.0
        await pool.complete(HI, PARAMS)  # a probed: it answers, back in rotation
        await pool.complete(HI, PARAMS)
        await pool.complete(HI, PARAMS)
        assert posts(a) == 4 and posts(b) == 3
        assert [(s.failures, s.cooldown_s) for s in pool.stats()] == [(2, 0.0), (0, 0.0)]


async def test_a_429_rests_the_endpoint_for_its_retry_after() -> None:
    with FaultServer(FaultConfig(script=["429"], retry_after_s=2.5)) as a, FaultServer() as b:
        pool = pool_of(a.api_base, b.api_base)
        await pool.complete(HI, PARAMS)
        assert pool.stats()[0].cooldown_s == 2.5 and posts(b) == 1


async def test_a_reply_that_is_not_json_keeps_its_endpoint_in_rotation() -> None:
    schema = {"type": "object", "properties": {"answered": {"type": "boolean"}}, "required": ["answered"]}
    with FaultServer(FaultConfig(script=["leak"])) as a, FaultServer() as b:
        pool = pool_of(a.api_base, b.api_base)
        messages = [{"role": "system", "content": "plain text, not JSON"}, *HI]
        comp = await pool.complete(messages, GenParams(max_tokens=8, json_schema=schema))
        assert json.loads(comp.text)["answered"] is True
        assert [(s.failures, s.cooldown_s) for s in pool.stats()] == [(1, 0.0), (0, 0.0)]


async def test_every_endpoint_down_is_transient_with_the_wait_until_one_is_back() -> None:
    clock = Clock()
    pool = pool_of(dead_url(), dead_url(), clock=clock)
    with pytest.raises(TransientLLMError, match="2 of 2 endpoints failed this call") as first:
        await pool.complete(HI, PARAMS)
    assert first.value.retry_after == 5.0
    clock.now += 2.0
    with pytest.raises(TransientLLMError, match="out of rotation; the first is back in 3.0 s") as second:
        await pool.complete(HI, PARAMS)
    assert second.value.retry_after == 3.0
    assert [s.requests for s in pool.stats()] == [1, 1]


async def test_with_every_endpoint_dead_the_call_fails_after_its_retries() -> None:
    """As with one endpoint: the retry loop waits as the pool asks (here capped by the policy at
    3 × 0.05 s), then the second attempt finds both endpoints out of rotation and the call fails."""
    model = load_model("openai/fake", api_base=f"{dead_url()},{dead_url()}", retry=RetryPolicy(2, 0.01, 0.05))
    with pytest.raises(LLMError, match="gave up after 2 attempts") as err:
        await model.complete(HI, PARAMS)
    assert "attempt 1: litellm:openai/fake: 2 of 2 endpoints failed this call" in str(err.value)
    assert "attempt 2: litellm:openai/fake: all 2 endpoints are out of rotation" in str(err.value)
    assert model.retries == 1


# -- the commands -----------------------------------------------------------------------------------
runner = CliRunner()


def flat(output: str) -> str:
    """A command's output as one line of words (rich's boxes and line breaks taken out)."""
    return " ".join(output.replace("│", " ").split())


@pytest.mark.parametrize(
    "argv",
    [
        ["simulate", "--model", "openai/fake"],
        ["play", "--model", "openai/fake"],
        ["serve", "--model", "openai/fake", "--port", "1"],
        ["evaluate", "--models", "openai/fake", "--methods", "few-shot"],
    ],
)
def test_every_command_with_api_base_checks_it_and_says_so(argv: list[str], tmp_path: Path) -> None:
    help_text = flat(runner.invoke(app, [argv[0], "--help"], env={"COLUMNS": "300"}).output)
    assert (
        "several (comma-separated or --api-base repeated)" in help_text and "Router config file" in help_text
    )
    db = ["--db", str(tmp_path / "x.duckdb")]
    res = runner.invoke(
        app, [*argv, *db, "--api-base", A, "--api-base", "localhost:8000/v1"], env={"COLUMNS": "300"}
    )
    assert res.exit_code == 2, res.output
    assert "--api-base" in res.output and "'localhost:8000/v1' is not a URL" in flat(res.output)
    assert not (tmp_path / "x.duckdb").exists()  # nothing done before the check


def test_simulate_spreads_over_endpoints_given_both_ways(tmp_path: Path) -> None:
    db = tmp_path / "sim.duckdb"
    with FaultServer() as a, FaultServer() as b, FaultServer() as c:
        argv = [
            "simulate", "--db", str(db), "--model", "openai/fake", "--api-base", a.api_base,
            "--api-base", f"{b.api_base},{c.api_base}", "--personas", "1", "--days", "1",
            "--concurrency", "1", "--no-progress", "--no-relevance-gate", "--run", "spread",
        ]  # fmt: skip
        res = runner.invoke(app, argv, env={"COLUMNS": "300"})
        assert res.exit_code == 0, res.output
        counts = [posts(a), posts(b), posts(c)]
    assert min(counts) >= 2 and max(counts) - min(counts) <= 1, counts  # one call at a time: round robin
    with Store(db, read_only=True) as store:
        (rec,) = store.list_sessions(run_id="spread")
        assert rec.llm_config is not None
        assert rec.llm_config["npc"]["api_base"] == f"{a.api_base},{b.api_base},{c.api_base}"


def test_serve_asks_every_server_for_its_model(tmp_path: Path) -> None:
    with FaultServer() as a, FaultServer() as b:
        endpoint = remote_endpoint(f"{a.api_base},{b.api_base}", "local")
        assert endpoint.litellm_model == "openai/fake" and endpoint.api_base == f"{a.api_base},{b.api_base}"
        assert [r.path for r in a.requests] == ["/v1/models"] == [r.path for r in b.requests]
    path = router_file(tmp_path, A, B)
    with pytest.raises(ModelServerError, match="give --model as one of: house, judge"):
        remote_endpoint(str(path), "local")


# -- two real model servers, one killed mid-run -------------------------------------------------------
CHAT_DONE = '"POST /v1/chat/completions HTTP/1.1" 200'


def answered(log: Path) -> int:
    """Chat completions a llama-cpp-python server has answered, from its (uvicorn access) log."""
    return log.read_text(encoding="utf-8", errors="replace").count(CHAT_DONE) if log.exists() else 0


def wait_until(done: Callable[[], bool], proc: subprocess.Popen[str], *, timeout_s: float) -> bool:
    """Poll ``done`` until it holds (True) or ``proc`` ends or the timeout passes (False)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if done():
            return True
        if proc.poll() is not None:
            return done()
        time.sleep(0.05)
    return False


@pytest.mark.model
def test_simulate_survives_one_of_two_model_servers_dying(tmp_path: Path, scenario: Scenario) -> None:
    gguf = ensure_model("small")
    logs = [tmp_path / "a.log", tmp_path / "b.log"]
    # killed once both have answered and this many answers are in: before the run's ~10 calls end
    kill_after = random.Random(17).randint(3, 5)
    db = tmp_path / "two.duckdb"
    with ModelServer(gguf, alias="house-small", n_threads=1, log_path=logs[0]) as server_a:
        with ModelServer(gguf, alias="house-small", n_threads=1, log_path=logs[1]) as server_b:
            argv = sharehouse_argv(
                "simulate", "--db", str(db), "--model", "openai/house-small",
                "--api-base", f"{server_a.endpoint.api_base},{server_b.endpoint.api_base}",
                "--personas", "1", "--language", "en", "--days", "1", "--concurrency", "1",
                "--no-progress", "--no-relevance-gate", "--run", "two", "--seed", "3",
            )  # fmt: skip
            proc = subprocess.Popen(
                argv, env=cli_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            )
            try:
                both = wait_until(
                    lambda: answered(logs[0]) >= 1 and answered(logs[1]) >= 1
                    and answered(logs[0]) + answered(logs[1]) >= kill_after,
                    proc, timeout_s=600,
                )  # fmt: skip
                before = (answered(logs[0]), answered(logs[1]))
                assert both, f"not both servers answered before the run ended or stalled: {before}"
                assert proc.poll() is None, "the run ended before the kill"
                assert server_a.pid is not None
                os.kill(server_a.pid, signal.SIGKILL)  # mid-run; the run is never told
                out, err = proc.communicate(timeout=900)
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
            after = (answered(logs[0]), answered(logs[1]))
    assert proc.returncode == 0, out[-2000:] + err[-3000:]
    assert "Traceback" not in err
    assert "out of rotation" in err  # the dead server was noticed and rested, and the run went on
    assert after[0] == before[0] and after[1] > before[1], (before, after)
    expected = [(d, s.id) for d, s in scenario.ordered_states() if d <= 1]
    with Store(db, read_only=True) as store:
        (rec,) = store.list_sessions(run_id="two")
        assert rec.status == "active" and rec.failure_reason is None
        assert rec.position_day == 2 and rec.pending_message is None
        turns = store.load_turns(rec.id)
        assert [(t.day, t.state_id) for t in turns if t.verdict in ("advance", "forced")] == expected
        assert all(t.message and t.response for t in turns)
        assert store.fetchone("SELECT count(*) FROM sessions WHERE status = 'failed'")[0] == 0
