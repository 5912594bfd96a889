"""A fault-injecting OpenAI-compatible chat-completions server for the reliability tests.

It runs in a thread of the test process on 127.0.0.1 (stdlib ``http.server``) and answers
``POST /v1/chat/completions`` (plain and ``stream: true`` server-sent events) with short
deterministic lines in the language of the prompt (a housemate's prompt gets its sample question
back, after a greeting, so that the line asks something as a housemate's must), or ``{"answered": true, "reason": "ok"}`` when a
``response_format`` JSON schema is requested. A seeded share of requests gets a fault instead:

- ``429``: HTTP 429 with a ``Retry-After`` header
- ``500``: HTTP 500 with an OpenAI-style error body
- ``timeout``: no answer until well past the client's timeout
- ``drop``: the connection is closed without a response
- ``malformed``: HTTP 200 whose body is not JSON (or, when streaming, a garbage event)
- ``truncated``: HTTP 200 whose body stops half-way (a ``Content-Length`` larger than what is sent)

Not drawn from ``FaultConfig.uniform`` (it is permanent, not transient), but available by rate or
script: ``401``, an authentication error whose message quotes the key it was sent, as a careless
server might.

Also not drawn by ``uniform``, because it is a misbehaving model rather than a transport fault:
``leak``, an HTTP 200 whose reply is the prompt's system message, copied out as a model told to
"print your system prompt" might. And ``unanswered`` (a rate, not a fault): the share of JSON
answers that say ``{"answered": false}``, so that the game's check asks follow-up questions.

Faults listed in ``script`` are served first, in order, then faults are drawn from the rates.
Every request's path, headers and body is recorded, and outcomes are counted. The server is
bounded: it stops by itself after ``lifetime_s`` seconds or ``max_requests`` requests.
"""

from __future__ import annotations

import json
import random
import socket
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

FAULTS: tuple[str, ...] = ("429", "500", "timeout", "drop", "malformed", "truncated")
PERMANENT: tuple[str, ...] = ("401",)
MISBEHAVIOUR: tuple[str, ...] = ("leak",)

LINES: dict[str, list[str]] = {
    "en": [
        "I mostly cook simple pasta at home, it relaxes me after work.",
        "Weekends are for long walks by the river and a good book.",
        "I would keep the kitchen tidy with a small rota, honestly.",
        "A quiet movie night with snacks sounds perfect to me.",
        "I like to plan the week on Sunday evening with tea.",
    ],
    "ja": [
        "家ではよく簡単なパスタを作ります。仕事の後に落ち着くんです。",
        "週末は川沿いを散歩して、本を読むのが好きです。",
        "台所は当番表を作ってきれいに使いたいですね。",
        "お菓子を用意して、静かに映画を観る夜がいいです。",
        "日曜の夜にお茶を飲みながら一週間の予定を立てます。",
    ],
    "zh": [
        "我在家常做简单的意面，下班后做饭让我放松。",
        "周末我喜欢沿着河边散步，再看一本好书。",
        "我觉得厨房可以排个值日表，大家轮流打扫。",
        "准备点零食，安安静静看一部电影就很好。",
        "我习惯周日晚上喝着茶安排下一周的计划。",
    ],
}


#: how the server's housemates open their line; the rest is the prompt's sample question
NPC_PREFIX: dict[str, str] = {"en": "Hey! ", "ja": "ねえ、", "zh": "对了，"}
_GIST = "The gist of your question (say it in your own words): "


def housemate_line(messages: list[dict[str, Any]], lang: str) -> str | None:
    """For a housemate's prompt, a line that asks its question (the prompt's sample question after
    a greeting), as a housemate must; None for any other prompt."""
    for m in messages:
        content = str(m.get("content", ""))
        if m.get("role") == "user" and _GIST in content:
            return NPC_PREFIX[lang] + content.split(_GIST, 1)[1].split("\n", 1)[0].strip()
    return None


def prompt_language(messages: list[dict[str, Any]]) -> str:
    """The language a prompt asks for: an explicit language name first, then the script used."""
    text = "\n".join(str(m.get("content", "")) for m in messages)
    system = "\n".join(str(m.get("content", "")) for m in messages if m.get("role") == "system")
    if "in Japanese" in system:
        return "ja"
    if "in Simplified Chinese" in system:
        return "zh"
    if "in English" in system:
        return "en"
    kana = sum(1 for ch in text if "\u3040" <= ch <= "\u30ff")
    han = sum(1 for ch in text if "\u4e00" <= ch <= "\u9fff")
    if kana >= 5:
        return "ja"
    if han >= 10:
        return "zh"
    return "en"


@dataclass
class FaultConfig:
    """What the server does. May be changed while it runs (each request reads it afresh)."""

    rates: dict[str, float] = field(default_factory=dict)  # fault name -> probability per request
    script: list[str] = field(default_factory=list)  # faults served first, in order ("ok" = no fault)
    latency_s: float = 0.0  # added before every answer
    retry_after_s: float = 0.05  # the Retry-After value sent with 429
    timeout_sleep_s: float = 3.0  # how long a "timeout" request is held before the server gives up
    unanswered: float = 0.0  # share of JSON (check) answers that say the question was not answered
    seed: int = 0
    lifetime_s: float = 300.0  # the server shuts itself down after this long
    max_requests: int = 20_000  # ... or after this many requests

    def __post_init__(self) -> None:
        known = FAULTS + PERMANENT + MISBEHAVIOUR
        unknown = set(self.rates) - set(known)
        if unknown:
            raise ValueError(f"unknown fault(s) {sorted(unknown)}; known: {', '.join(known)}")
        if sum(self.rates.values()) > 1.0:
            raise ValueError("fault rates add up to more than 1")

    @classmethod
    def uniform(cls, total_rate: float, **kwargs: Any) -> FaultConfig:
        """Every fault kind at an equal share of ``total_rate``."""
        return cls(rates={f: total_rate / len(FAULTS) for f in FAULTS}, **kwargs)


def _lower(items: Any) -> dict[str, str]:
    return {str(k).lower(): str(v) for k, v in items}


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]  # names in lower case
    body: bytes
    outcome: str = ""

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8")) if self.body else None


class FaultServer:
    """Start with :meth:`start` (or ``with FaultServer(cfg) as srv``); ``srv.api_base`` is the URL."""

    def __init__(self, config: FaultConfig | None = None) -> None:
        self.config = config or FaultConfig()
        self.requests: list[RecordedRequest] = []
        self.counts: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._rng = random.Random(self.config.seed)
        self._script: deque[str] = deque(self.config.script)
        self._stop = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._timer: threading.Timer | None = None
        self._served = 0
        self._hold_at: int | None = None  # the POST count at which a request is held unanswered
        self._held = threading.Event()  # set when that request has arrived
        self._release = threading.Event()

    # -- lifecycle ----------------------------------------------------------------------------
    @property
    def port(self) -> int:
        assert self._httpd is not None, "the server is not running"
        return int(self._httpd.server_address[1])

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> FaultServer:
        handler = type("Handler", (_Handler,), {"owner": self})
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        httpd.daemon_threads = True
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        self._timer = threading.Timer(self.config.lifetime_s, self.stop)
        self._timer.daemon = True
        self._timer.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._timer is not None:
            self._timer.cancel()
        httpd = self._httpd
        if httpd is not None and self._thread is not None and self._thread.is_alive():
            if threading.current_thread() is not self._thread:
                httpd.shutdown()
            httpd.server_close()

    def __enter__(self) -> FaultServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- control ------------------------------------------------------------------------------
    def set_script(self, faults: list[str]) -> None:
        with self._lock:
            self._script = deque(faults)

    def set_rates(self, rates: dict[str, float]) -> None:
        self.config = FaultConfig(**{**self.config.__dict__, "rates": dict(rates), "script": []})

    def hold_request(self, n: int) -> threading.Event:
        """Hold the ``n``-th POST from now (1 = the next one) unanswered until :meth:`release_hold`.

        Returns an event set when it arrives: its client is then certainly alive and waiting on the
        model, so a kill at that moment lands at an exact, seeded request count (no sleeps)."""
        if n < 1:
            raise ValueError("n counts from 1")
        with self._lock:
            self._hold_at = self._posts() + n
            self._held = threading.Event()
            self._release = threading.Event()
            return self._held

    def release_hold(self) -> None:
        """Let the held request go on (its client may already be gone) and stop holding."""
        with self._lock:
            self._hold_at = None
            self._release.set()

    def _posts(self) -> int:
        return sum(1 for r in self.requests if r.method == "POST")

    def reset_counts(self) -> None:
        with self._lock:
            self.counts.clear()
            self.requests.clear()

    @property
    def total(self) -> int:
        with self._lock:
            return sum(self.counts.values())

    def faults_served(self) -> int:
        with self._lock:
            return sum(n for k, n in self.counts.items() if k in FAULTS + PERMANENT)

    # -- used by the handler ------------------------------------------------------------------
    def _choose(self) -> str:
        with self._lock:
            self._served += 1
            if self._served > self.config.max_requests:
                self._stop.set()
                return "drop"
            if self._script:
                return self._script.popleft()
            r = self._rng.random()
            acc = 0.0
            for name in FAULTS + PERMANENT + MISBEHAVIOUR:
                acc += self.config.rates.get(name, 0.0)
                if r < acc:
                    return name
            return "ok"

    def _draw(self, rate: float) -> bool:
        """True with probability ``rate`` (from the server's seeded generator)."""
        with self._lock:
            return rate > 0 and self._rng.random() < rate

    def _record(self, req: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(req)
            self.counts[req.outcome] += 1

    def _maybe_hold(self) -> None:
        """Called with each POST once recorded: the one at the hold count waits to be released."""
        with self._lock:
            hold = self._hold_at is not None and self._posts() == self._hold_at
            held, release = self._held, self._release
        if hold:
            held.set()
            while not release.wait(0.05) and not self._stop.is_set():
                pass

    def _wait(self, seconds: float) -> None:
        if seconds > 0:
            self._stop.wait(seconds)


class _Handler(BaseHTTPRequestHandler):
    owner: FaultServer
    protocol_version = "HTTP/1.0"  # one request per connection: a fault never leaks into the next one

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's signature
        return None

    # -- plumbing -----------------------------------------------------------------------------
    def _send(self, status: int, body: bytes, content_type: str = "application/json", **headers: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers.items():
            self.send_header(k.replace("_", "-"), v)
        self.end_headers()
        self.wfile.write(body)

    def _drop(self) -> None:
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.close_connection = True

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        owner = self.owner
        req = RecordedRequest("GET", self.path, _lower(self.headers.items()), b"", outcome="get")
        owner._record(req)
        if self.path.rstrip("/").endswith("/models"):
            self._send(
                200, json.dumps({"object": "list", "data": [{"id": "fake", "object": "model"}]}).encode()
            )
        else:
            self._send(404, b'{"error": {"message": "not found"}}')

    def do_POST(self) -> None:  # noqa: N802 - stdlib naming
        owner = self.owner
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        req = RecordedRequest("POST", self.path, _lower(self.headers.items()), body)
        if owner._stop.is_set():
            req.outcome = "stopped"
            owner._record(req)
            self._drop()
            return
        fault = owner._choose()
        req.outcome = fault
        owner._record(req)
        owner._maybe_hold()
        cfg = owner.config
        try:
            payload = json.loads(body.decode("utf-8")) if body else {}
        except ValueError:
            self._send(
                400, b'{"error": {"message": "request body is not JSON", "type": "invalid_request_error"}}'
            )
            return
        if not self.path.rstrip("/").endswith("/chat/completions"):
            self._send(404, b'{"error": {"message": "only /v1/chat/completions is served"}}')
            return
        owner._wait(cfg.latency_s)
        try:
            self._answer(fault, payload, cfg)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up first (its timeout): nothing to do

    def _answer(self, fault: str, payload: dict[str, Any], cfg: FaultConfig) -> None:
        owner = self.owner
        stream = bool(payload.get("stream"))
        if fault == "429":
            err = b'{"error": {"message": "rate limited, slow down", "type": "rate_limit_error", "code": "rate_limit"}}'
            self._send(429, err, Retry_After=f"{cfg.retry_after_s:g}")
            return
        if fault == "401":
            key = self.headers.get("Authorization", "").removeprefix("Bearer ")
            doc = {
                "error": {"message": f"Incorrect API key provided: {key}", "type": "invalid_request_error"}
            }
            self._send(401, json.dumps(doc).encode())
            return
        if fault == "500":
            self._send(500, b'{"error": {"message": "internal failure", "type": "server_error"}}')
            return
        if fault == "timeout":
            owner._wait(cfg.timeout_sleep_s)
            self._drop()
            return
        if fault == "drop":
            self._drop()
            return
        messages = payload.get("messages") or []
        if fault == "leak":
            text = "\n".join(str(m.get("content", "")) for m in messages if m.get("role") == "system")
        else:
            text = self._text(payload)
        prompt_tokens = sum(len(str(m.get("content", "")).split()) for m in messages)
        completion_tokens = max(1, len(text.split()))
        model = str(payload.get("model", "fake"))
        n = owner.total
        if stream:
            self._stream(fault, text, model, n, prompt_tokens, completion_tokens, payload)
            return
        doc = {
            "id": f"chatcmpl-fault-{n}",
            "object": "chat.completion",
            "created": 1_700_000_000,
            "model": model,
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }
        body = json.dumps(doc, ensure_ascii=False).encode("utf-8")
        if fault == "malformed":
            self._send(200, b'{"id": "chatcmpl-broken", "choices": [{"message": {"content": "no closing')
            return
        if fault == "truncated":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self._drop()
            return
        self._send(200, body)

    def _text(self, payload: dict[str, Any]) -> str:
        fmt = payload.get("response_format") or {}
        if fmt.get("type") in ("json_schema", "json_object"):
            if self.owner._draw(self.owner.config.unanswered):
                return json.dumps({"answered": False, "reason": "too vague"})
            return json.dumps({"answered": True, "reason": "ok"})
        lang = prompt_language(payload.get("messages") or [])
        asked = housemate_line(payload.get("messages") or [], lang)
        if asked is not None:
            return asked
        lines = LINES[lang]
        return lines[self.owner.total % len(lines)]

    def _stream(
        self,
        fault: str,
        text: str,
        model: str,
        n: int,
        prompt_tokens: int,
        completion_tokens: int,
        payload: dict[str, Any],
    ) -> None:
        # Written by hand as HTTP/1.1 with chunked transfer encoding, as real API servers stream: a
        # cut inside a chunk is then a protocol error the client can see, not a silent short reply.
        self.wfile.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
            b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        )
        self.close_connection = True

        def chunk(delta: dict[str, Any], finish: str | None, choices: bool = True) -> bytes:
            doc: dict[str, Any] = {
                "id": f"chatcmpl-fault-{n}",
                "object": "chat.completion.chunk",
                "created": 1_700_000_000,
                "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}] if choices else [],
            }
            return b"data: " + json.dumps(doc, ensure_ascii=False).encode("utf-8") + b"\n\n"

        step = max(1, len(text) // 4)
        pieces = [text[i : i + step] for i in range(0, len(text), step)]
        events = [chunk({"role": "assistant", "content": ""}, None)]
        events += [chunk({"content": p}, None) for p in pieces]
        events.append(chunk({}, "stop"))
        if (payload.get("stream_options") or {}).get("include_usage"):
            usage = {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            }
            doc = json.loads(chunk({}, None, choices=False)[6:])
            doc["usage"] = usage
            events.append(b"data: " + json.dumps(doc).encode() + b"\n\n")
        events.append(b"data: [DONE]\n\n")
        if fault == "malformed":
            events = events[:2] + [
                b'data: {"id": "chatcmpl-broken", "choices": [{"delta": {"content": "x\n\n'
            ]
        cut = fault == "truncated"
        if cut:
            events = events[:3]
        for i, ev in enumerate(events):
            if cut and i == len(events) - 1:
                # Announce the whole chunk, send half of it, and hang up.
                self.wfile.write(f"{len(ev):x}\r\n".encode() + ev[: len(ev) // 2])
                self.wfile.flush()
                self._drop()
                return
            self.wfile.write(f"{len(ev):x}\r\n".encode() + ev + b"\r\n")
            self.wfile.flush()
            time.sleep(0.001)
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()
        if fault == "malformed":
            self._drop()


# -- helpers for tests that run the ``sharehouse`` command in a subprocess --------------------------
REPO = __import__("pathlib").Path(__file__).resolve().parents[1]


def sharehouse_argv(*args: str) -> list[str]:
    """The command line running the CLI with this interpreter (works without the console script)."""
    import sys

    return [sys.executable, "-c", "from sharehouse.cli import main; main()", *args]


def cli_env(**extra: str) -> dict[str, str]:
    """A clean environment for a CLI subprocess: offline, no colours, no inherited API keys."""
    import os

    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY") and k != "SHAREHOUSE_DB"}
    env.update(
        {
            "LITELLM_LOCAL_MODEL_COST_MAP": "True",
            "HF_HUB_OFFLINE": "1",
            "NO_COLOR": "1",
            "TERM": "dumb",
            "COLUMNS": "200",
            "PYTHONPATH": str(REPO),
        }
    )
    env.update(extra)
    return env


# A child process that records every address it resolves or connects to (one JSON line each, in
# the file named by $SHAREHOUSE_TEST_NET_LOG), then runs the ``sharehouse`` command.
_RECORDING_MAIN = """
import json, os, socket, sys
_log_path = os.environ["SHAREHOUSE_TEST_NET_LOG"]
def _log(kind, host, port):
    with open(_log_path, "a", encoding="utf-8") as fh:
        fh.write(json.dumps([kind, host if isinstance(host, str) else repr(host), port]) + "\\n")
_connect, _connect_ex, _getaddrinfo = socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo
def connect(self, address):
    if isinstance(address, tuple):
        _log("connect", address[0], address[1])
    return _connect(self, address)
def connect_ex(self, address):
    if isinstance(address, tuple):
        _log("connect", address[0], address[1])
    return _connect_ex(self, address)
def getaddrinfo(host, port, *args, **kwargs):
    if host is not None:
        _log("resolve", host.decode() if isinstance(host, bytes) else host, port)
    return _getaddrinfo(host, port, *args, **kwargs)
socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo = connect, connect_ex, getaddrinfo
from sharehouse.cli import main
main()
"""


def recording_argv(*args: str) -> list[str]:
    """Like :func:`sharehouse_argv`, for a child whose network use is recorded (see
    :func:`read_net_log`; set ``SHAREHOUSE_TEST_NET_LOG`` in its environment)."""
    import sys

    return [sys.executable, "-c", _RECORDING_MAIN, *args]


def read_net_log(path: Any) -> list[tuple[str, str, Any]]:
    """The (kind, host, port) records a :func:`recording_argv` child wrote."""
    from pathlib import Path

    p = Path(path)
    if not p.exists():
        return []
    return [tuple(json.loads(line)) for line in p.read_text(encoding="utf-8").splitlines() if line.strip()]


# -- ports ----------------------------------------------------------------------------------------
_REFUSING: list[socket.socket] = []  # held until the test process ends


def refused_url() -> str:
    """The API base of an endpoint that refuses every connection (a server that has died).

    Its port is bound on 127.0.0.1 without listening, and held by this process until it ends: a
    port picked free and let go could be taken meanwhile by the next server a test starts (a fault
    server binds port 0 too), and two ports let go could be the same one. Each call: another port."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    _REFUSING.append(s)
    return f"http://127.0.0.1:{s.getsockname()[1]}/v1"


def start_serve(args: list[str], log: Any, *, timeout_s: float, attempts: int = 3) -> tuple[Any, int]:
    """Start ``sharehouse serve --port P ARGS`` (output to the file ``log``) on a port P free when
    picked; return (the process, P) once its page answers on P.

    ``serve`` takes a port number, so P is let go before serve binds it and another process may
    take it meanwhile: serve then says it cannot bind and exits, and it is started again on another
    port. Its 'serving the game on' line is printed before it binds (aiohttp's startup), hence the
    wait for the page itself."""
    import subprocess
    import sys
    import urllib.request
    from pathlib import Path

    from sharehouse.serving.model_server import free_port

    log = Path(log)
    for attempt in range(1, attempts + 1):
        port = free_port()
        with log.open("w") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "sharehouse.cli", "serve", "--port", str(port), *args],
                stdout=out, stderr=subprocess.STDOUT, text=True,
            )  # fmt: skip
        deadline = time.monotonic() + timeout_s
        while proc.poll() is None:
            if time.monotonic() > deadline:
                proc.kill()
                proc.wait(timeout=30)
                raise AssertionError(
                    f"serve did not answer on port {port} in {timeout_s:.0f} s:\n{log.read_text()}"
                )
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as response:
                    if response.status == 200:
                        return proc, port
            except OSError:
                time.sleep(0.2)
        text = log.read_text()
        if attempt == attempts or "address already in use" not in text.lower():
            raise AssertionError(f"serve exited with {proc.returncode}:\n{text}")
    raise AssertionError("unreachable")


def kill_at_request(proc: Any, srv: FaultServer, n: int, *, timeout_s: float = 90.0) -> bool:
    """SIGKILL ``proc`` while its ``n``-th model request from now is held by ``srv``.

    Deterministic: the kill lands at a request count, not after a sleep, so a fast run cannot finish
    first. False (and nothing killed) when the process ended before sending that many requests."""
    import signal
    import time

    held = srv.hold_request(n)
    deadline = time.monotonic() + timeout_s
    try:
        while not held.wait(0.02):
            if proc.poll() is not None or time.monotonic() > deadline:
                return False
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        return True
    finally:
        srv.release_hold()
