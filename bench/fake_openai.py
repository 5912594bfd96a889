"""A tiny OpenAI-compatible chat server on 127.0.0.1 for the API-path benchmark and its smoke test.

Every ``POST /v1/chat/completions`` waits a fixed latency (one thread per request, so waits
overlap) and returns a canned answer that the simulator accepts: JSON for a schema-constrained
call (the reply check), a housemate line for a housemate prompt, otherwise a persona reply, each
in the language the prompt asks for. Streaming (server-sent events) and plain replies are both
served. The server serves only loopback and stops with :meth:`FakeOpenAI.close`.

    .venv/bin/python -m bench.fake_openai --port 8765 --latency 1.0
"""

from __future__ import annotations

import argparse
import itertools
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

NPC_LINES = {
    "en": "That sounds nice. And what would you do on a free Sunday here?",
    "ja": "いいね。ここで自由な日曜日があったら、何をしたい？",
    "zh": "听起来不错。如果这里有一个空闲的星期天，你会做什么？",
}
USER_REPLIES = {
    "en": ["I would cook a big breakfast and then read in the garden for a while.",
           "Probably go for a long walk by the river and call my family after.",
           "I like to plan the week, clean my room and then watch a film.",
           "Maybe visit the market in the morning and try a new recipe."],
    "ja": ["朝ごはんをゆっくり作って、庭で本を読みたいな。", "川沿いを散歩して、そのあと家族に電話すると思う。",
           "一週間の予定を立てて、部屋を片付けてから映画を見るかな。", "朝は市場に行って、新しい料理に挑戦したい。"],
    "zh": ["我会做一顿丰盛的早餐，然后在花园里看书。", "可能去河边散步，之后给家里打个电话。",
           "我喜欢先计划一周的事情，打扫房间，然后看电影。", "早上去市场逛逛，再试一个新菜谱。"],
}  # fmt: skip


def _language(text: str) -> str:
    if "Japanese" in text or "日本語" in text or any("\u3040" <= ch <= "\u30ff" for ch in text):
        return "ja"
    if "Chinese" in text or "中文" in text or any("\u4e00" <= ch <= "\u9fff" for ch in text):
        return "zh"
    return "en"


class FakeOpenAI:
    """Start with ``FakeOpenAI(latency_s=1.0).start()``; ``api_base`` is the URL to give the client."""

    def __init__(self, latency_s: float = 1.0, host: str = "127.0.0.1", port: int = 0) -> None:
        if not host.startswith("127.") and host != "localhost":
            raise ValueError("the fake server listens on loopback only")
        self.latency_s = latency_s
        self.requests = 0
        self.max_in_flight = 0
        self._in_flight = 0
        self._lock = threading.Lock()
        self._counter = itertools.count()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
                return

            def do_POST(self) -> None:  # noqa: N802 - the http.server hook name
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                owner._enter()
                try:
                    time.sleep(owner.latency_s)
                    text = owner.answer(body)
                finally:
                    owner._leave()
                if body.get("stream"):
                    self._stream(body, text)
                else:
                    self._send(200, owner.response(body, text))

            def _send(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _stream(self, body: dict[str, Any], text: str) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Connection", "close")
                self.end_headers()
                base = {"id": "fake", "object": "chat.completion.chunk", "created": int(time.time()),
                        "model": body.get("model", "fake")}  # fmt: skip
                chunks = [
                    {**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": text},
                                          "finish_reason": None}]},
                    {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
                    {**base, "choices": [], "usage": owner.usage(body, text)},
                ]  # fmt: skip
                for chunk in chunks:
                    self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()
                self.close_connection = True

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def api_base(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def _enter(self) -> None:
        with self._lock:
            self.requests += 1
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)

    def _leave(self) -> None:
        with self._lock:
            self._in_flight -= 1

    def answer(self, body: dict[str, Any]) -> str:
        messages = body.get("messages") or []
        if body.get("response_format"):
            return json.dumps({"answered": True, "reason": "a clear answer"})
        system = " ".join(str(m.get("content", "")) for m in messages if m.get("role") == "system")
        everything = " ".join(str(m.get("content", "")) for m in messages)
        lang = _language(system or everything)
        if "housemates" in system and "Instruction:" in everything:
            return NPC_LINES[lang]
        options = USER_REPLIES[lang]
        return options[next(self._counter) % len(options)]

    def usage(self, body: dict[str, Any], text: str) -> dict[str, int]:
        prompt = sum(len(str(m.get("content", ""))) for m in body.get("messages") or []) // 4
        done = max(1, len(text) // 4)
        return {"prompt_tokens": prompt, "completion_tokens": done, "total_tokens": prompt + done}

    def response(self, body: dict[str, Any], text: str) -> dict[str, Any]:
        return {
            "id": "fake", "object": "chat.completion", "created": int(time.time()),
            "model": body.get("model", "fake"),
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            "usage": self.usage(body, text),
        }  # fmt: skip

    def start(self) -> FakeOpenAI:
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-openai", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--latency", type=float, default=1.0)
    parser.add_argument("--seconds", type=float, default=600.0, help="stop by itself after this long")
    args = parser.parse_args()
    with FakeOpenAI(args.latency, port=args.port) as server:
        print(f"serving {server.api_base} for {args.seconds:.0f} s")
        time.sleep(args.seconds)


if __name__ == "__main__":
    main()
