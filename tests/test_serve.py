"""``sharehouse serve`` without a browser: the command's choices, limits and shutdown.

The games run against the fault-injecting fake OpenAI server (``--api-base``), so no model loads,
except in the last test, which kills ``serve`` and checks that its llama-cpp-python server goes too.
A browser connection is a websocket opened with aiohttp, speaking textual-serve's protocol.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import aiohttp
import pytest
from faultserver import FaultConfig, FaultServer, refused_url, start_serve

from sharehouse.cli_serve import is_loopback
from sharehouse.serving.model_server import Endpoint, ModelServerError, remote_endpoint
from sharehouse.serving.web import FULL_MESSAGE, MAX_SIZE, MIN_SIZE, clamp_size, game_argv, shell_command

STARTED = "serving the game on"


@pytest.fixture
def fake() -> Iterator[FaultServer]:
    with FaultServer(FaultConfig(lifetime_s=120)) as srv:
        yield srv


@contextmanager
def serving(tmp_path: Path, *args: str) -> Iterator[tuple[subprocess.Popen[str], int, Path]]:
    """``sharehouse serve ARGS`` on a free port; yields once its page answers (it has said it serves)."""
    log = tmp_path / "serve.log"
    proc, port = start_serve(["--db", str(tmp_path / "s.duckdb"), *args], log, timeout_s=120)
    try:
        assert STARTED in log.read_text()
        yield proc, port, log
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=60)


def games_of(proc: subprocess.Popen[str]) -> list[int]:
    """The game processes ``serve`` runs now (its children running ``play --participant``)."""
    out = subprocess.run(["ps", "-o", "pid=,args=", "--ppid", str(proc.pid)], capture_output=True, text=True)
    return [int(line.split()[0]) for line in out.stdout.splitlines() if "--participant" in line]


async def read_until(ws: aiohttp.ClientWebSocketResponse, text: str, timeout: float = 60.0) -> bytes:
    """What the game sent until ``text`` appeared (escape sequences and all)."""
    seen = b""
    async with asyncio.timeout(timeout):
        while text.encode() not in seen:
            msg = await ws.receive()
            if msg.type == aiohttp.WSMsgType.BINARY:
                seen += msg.data
            elif msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING):
                break
    return seen


def test_terminal_sizes_are_bounded() -> None:
    assert clamp_size(142, 38) == (142, 38)
    assert clamp_size(10**7, 10**7) == MAX_SIZE
    assert clamp_size(0, -5) == MIN_SIZE
    assert clamp_size("wide", None) == (80, 24)


def test_game_command_quotes_every_path(tmp_path: Path) -> None:
    db = tmp_path / "a study's data" / "x; rm -rf ~.duckdb"
    endpoint = Endpoint(api_base="http://127.0.0.1:9/v1", litellm_model="openai/m")
    argv = game_argv(db=db, endpoint=endpoint, study=tmp_path / "s $HOME.json")
    assert argv[1:5] == ["-m", "sharehouse.cli", "play", "--participant"]
    line = shell_command(argv)
    assert line.startswith("exec ") and shlex.split(line)[1:] == argv


def test_remote_endpoint_takes_the_model_the_server_lists(fake: FaultServer) -> None:
    assert remote_endpoint(fake.api_base, "local") == Endpoint(
        api_base=fake.api_base, litellm_model="openai/fake"
    )
    named = remote_endpoint(fake.api_base, "openai/other")
    assert named.litellm_model == "openai/other"
    with pytest.raises(ModelServerError, match="no OpenAI-compatible server answers"):
        remote_endpoint(refused_url(), "local")


def test_bad_study_file_and_busy_port_fail_before_anything_starts(tmp_path: Path, fake: FaultServer) -> None:
    study = tmp_path / "study.json"
    study.write_text(json.dumps({"name": "x", "pre_mbti": True, "colour": "blue"}))
    cmd = [
        sys.executable,
        "-m",
        "sharehouse.cli",
        "serve",
        "--db",
        str(tmp_path / "s.duckdb"),
        "--api-base",
        fake.api_base,
    ]
    bad = subprocess.run([*cmd, "--study", str(study)], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "study.json" in bad.stderr and "colour" in bad.stderr
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        busy = subprocess.run(
            [*cmd, "--port", str(held.getsockname()[1])], capture_output=True, text=True, timeout=120
        )
    assert busy.returncode == 2 and "cannot listen on 127.0.0.1" in busy.stderr
    assert "model:" not in busy.stderr  # nothing was started


def test_serve_off_loopback_says_so_and_the_page_loads_nothing_from_elsewhere(
    tmp_path: Path, fake: FaultServer
) -> None:
    with serving(tmp_path, "--host", "0.0.0.0", "--api-base", fake.api_base) as (proc, port, log):
        text = log.read_text()
        assert re.search(r"warning: --host 0\.0\.0\.0: the game is reachable from the network", text)
        assert f"model: openai/fake at {fake.api_base}" in text
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as response:
            page = response.read().decode()
        links = re.findall(r'(?:src|href)="([^"]*)"', page)
        assert links and all(not re.match(r"[a-z]+:", link) and not link.startswith("//") for link in links)
        assert "googleapis" not in page
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0


def test_loopback_addresses() -> None:
    assert all(is_loopback(h) for h in ("127.0.0.1", "127.0.1.1", "::1", "localhost"))
    assert not any(is_loopback(h) for h in ("0.0.0.0", "::", "10.0.0.5", "192.168.1.2", "example.org"))


async def test_a_connection_beyond_max_games_is_turned_away_and_shutdown_ends_every_game(
    tmp_path: Path, fake: FaultServer
) -> None:
    with serving(tmp_path, "--api-base", fake.api_base, "--max-games", "1") as (proc, port, log):
        async with aiohttp.ClientSession() as http:
            first = await http.ws_connect(f"http://127.0.0.1:{port}/ws?width=100&height=30")
            assert b"I'm new" in await read_until(first, "I'm new")  # a participant's start screen
            assert len(games_of(proc)) == 1
            second = await http.ws_connect(f"http://127.0.0.1:{port}/ws?width=100&height=30")
            assert FULL_MESSAGE.encode() in await read_until(second, "try again")
            assert (await second.receive()).type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
            assert len(games_of(proc)) == 1
            # SIGTERM: the connection is closed and the game process ends with serve.
            game = games_of(proc)[0]
            proc.send_signal(signal.SIGTERM)
            await read_until(first, "\0never", timeout=30)
            assert await asyncio.to_thread(proc.wait, 60) == 0
        assert not _is_running(game)
    text = log.read_text()
    assert "stopped; games played: 1, turned away: 1 (--max-games)." in text
    assert "Traceback" not in text and "did not quit" not in text  # each game quit and was reaped


def _is_running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.model
def test_the_model_server_ends_with_serve_even_when_serve_is_killed(tmp_path: Path) -> None:
    with serving(tmp_path, "--model", "local:small") as (proc, _, log):
        model_pid = int(re.search(r"\(pid (\d+)\)", log.read_text()).group(1))  # type: ignore[union-attr]
        assert _is_running(model_pid)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        deadline = time.monotonic() + 30
        while _is_running(model_pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not _is_running(model_pid), "the model server outlived a killed serve"
