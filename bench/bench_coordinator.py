"""Coordinator benchmark: what one ``simulate`` process costs per turn when the model costs nothing.

A fake OpenAI-compatible server (aiohttp, in its own process on 127.0.0.1, so that its CPU is not
counted) answers every chat completion at once (or after ``--latency`` seconds): streamed or plain, JSON for the reply check, a
one-sentence reaction for a housemate, a reply of two sentences for a simulated user, each in the
prompt's language and drawn at random from templates, so that the engine's guards (repeats,
echoes, thin replies) accept nearly all of them as they accept a real model's. The real
``run_simulate`` plays synthetic personas (the shipped ones, cloned to the number asked) through
the litellm backend at the given concurrency, with the real session runner, the relevance gate
(its sentence encoders on this machine's CPU, unless ``--no-gate``) and a real DuckDB store.

Reported per run: CPU seconds of the coordinator process (every thread: event loop, litellm, the
encoders, DuckDB) per turn and per model call, turns per second, store commits per second (outermost
transactions: a turn with its position, the pending line, the logged calls), most calls in flight
at the server, and peak RSS. The clock starts after litellm, the encoders and the first call are warm.

    .venv/bin/python -m bench.bench_coordinator [--personas 256] [--concurrency 256] [--days 1]
        [--latency 0] [--no-gate] [--write]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.common import current_rss_mb, load_average, markdown_table, peak_rss_mb, publish
from sharehouse.llm.base import Message
from sharehouse.store import Store

SECTION = "Coordinator overhead per turn at concurrency 256 (bench/bench_coordinator.py)"

# -- the fake server's answers ---------------------------------------------------------------------
#: reactions: one sentence, no question, from slots (8 × 12 × 8 × 10 ways per language)
REACTION_SLOTS: dict[str, tuple[tuple[str, ...], ...]] = {
    "en": (
        ("Nice", "Oh wow", "Ha", "Honestly", "Oh nice", "Wow", "Huh", "Aw"),
        ("a slow breakfast", "the river walk", "a film night", "the market", "a tidy kitchen", "that plan",
         "a quiet evening", "the garden", "a long nap", "cooking together", "a board game", "an early run"),
        ("sounds lovely", "is my kind of thing", "would suit me", "feels right", "is a good call",
         "sounds fun", "makes sense", "is so you"),
        ("to me too", "after this week", "right now", "if I'm honest", "on a rainy day", "with some tea",
         "for a change", "in this house", "after work", "on a Sunday"),
    ),
    "ja": (
        ("いいね", "へえ", "なるほど", "わかる", "おお", "たしかに", "ふふ", "そっか"),
        ("ゆっくり朝ごはん", "川沿いの散歩", "映画の夜", "市場めぐり", "きれいな台所", "その計画", "静かな夜",
         "庭いじり", "昼寝", "みんなで料理", "ボードゲーム", "朝のジョギング"),
        ("って素敵だね", "は私も好きだな", "は落ち着くよね", "は楽しそうだね", "はいい考えだね", "は最高だね",
         "はあなたらしいね", "はうらやましいな"),
        ("、今週は特に", "、雨の日なら", "、お茶と一緒に", "、たまには", "、この家なら", "、仕事の後なら",
         "、日曜日なら", "、正直に言うと", "、今すぐにでも", "、私も最近"),
    ),
    "zh": (
        ("不错", "哇", "哈哈", "真的", "好啊", "原来如此", "嗯嗯", "厉害"),
        ("慢慢吃早餐", "河边散步", "电影之夜", "逛市场", "干净的厨房", "这个计划", "安静的晚上", "打理花园",
         "睡个午觉", "一起做饭", "玩桌游", "早上跑步"),
        ("听起来很棒", "我也喜欢", "很适合我", "很舒服", "是个好主意", "很有意思", "很像你", "让人羡慕"),
        ("，尤其这周", "，下雨天更好", "，配杯茶", "，偶尔一次", "，在这个家里", "，下班以后", "，周日最好",
         "，说实话", "，我现在就想", "，我最近也是"),
    ),
}  # fmt: skip
#: simulated-user replies: two sentences, each from slots (8 × 8 × 8 ways per sentence)
REPLY_SLOTS: dict[str, tuple[tuple[str, ...], ...]] = {
    "en": (
        ("I would", "I'd probably", "I usually", "I'd rather", "Honestly I'd", "Most days I", "I tend to",
         "I like to"),
        ("cook a big pot of soup", "walk along the river", "read in the garden", "clean my room first",
         "call my sister", "try a new recipe", "go to the market", "plan the whole week"),
        ("on a free Sunday", "after a long shift", "when it rains", "before anyone wakes up",
         "with loud music on", "once a month", "in the evening", "with a friend"),
    ),
    "ja": (
        ("私なら", "たぶん", "いつもは", "できれば", "正直", "だいたい", "週末は", "気分次第で"),
        ("大きな鍋でスープを作って", "川沿いを歩いて", "庭で本を読んで", "まず部屋を片付けて", "姉に電話して",
         "新しい料理に挑戦して", "市場に行って", "一週間の予定を立てて"),
        ("のんびりしたいです。", "すっきりしたいな。", "過ごすと思う。", "満足しちゃう。", "元気を出します。",
         "一日が終わるかな。", "リラックスします。", "楽しみたいです。"),
    ),
    "zh": (
        ("我会", "我大概会", "我一般会", "我更想", "说实话我会", "平时我会", "我习惯", "我喜欢"),
        ("煮一大锅汤", "沿着河边走走", "在花园里看书", "先把房间收拾好", "给姐姐打电话", "试一个新菜谱",
         "去市场逛逛", "把一周计划好"),
        ("，周日最舒服。", "，下班后就这样。", "，下雨天尤其如此。", "，趁大家还没起床。", "，边听音乐边做。",
         "，一个月一次。", "，晚上比较有空。", "，和朋友一起。"),
    ),
}  # fmt: skip
_JOIN = {"en": " ", "ja": "", "zh": ""}
REACTION_MARK = "You react to what the new housemate just told you"


def prompt_language(messages: list[dict[str, Any]]) -> str:
    """The language a prompt asks for: a language named in the system text, else its script."""
    system = "\n".join(str(m.get("content", "")) for m in messages if m.get("role") == "system")
    for name, lang in (("Japanese", "ja"), ("Simplified Chinese", "zh"), ("English", "en")):
        if f"in {name}" in system:
            return lang
    kana = sum(1 for ch in system if "\u3040" <= ch <= "\u30ff")
    han = sum(1 for ch in system if "\u4e00" <= ch <= "\u9fff")
    return "ja" if kana >= 5 else "zh" if han >= 10 else "en"


def _sentence(slots: tuple[tuple[str, ...], ...], lang: str, rng: random.Random) -> str:
    parts = [rng.choice(options) for options in slots]
    if lang == "en":
        return " ".join(parts).replace(" ,", ",") + "."
    return "".join(parts) + ("" if parts[-1].endswith("。") else "。")


def answer(body: dict[str, Any], rng: random.Random) -> tuple[str, str]:
    """(purpose, text) for one chat-completion request."""
    messages = body.get("messages") or []
    if body.get("response_format"):
        return "check", json.dumps({"reason": "the reply names a plan and a reason", "answered": True})
    lang = prompt_language(messages)
    system = str(messages[0].get("content", "")) if messages else ""
    if REACTION_MARK in system:
        slots = REACTION_SLOTS[lang]
        if lang == "en":
            a, b, c, d = (rng.choice(s) for s in slots)
            return "npc", f"{a}, {b} {c} {d}."
        return "npc", "".join(rng.choice(s) for s in slots) + "。"
    slots = REPLY_SLOTS[lang]
    return "user", _JOIN[lang].join(_sentence(slots, lang, rng) for _ in range(2))


def usage(body: dict[str, Any], text: str) -> dict[str, int]:
    """Token counts of about the right size (4 characters a token in English, 1.5 in CJK)."""
    chars = sum(len(str(m.get("content", ""))) for m in body.get("messages") or [])
    per = 4.0 if prompt_language(body.get("messages") or []) == "en" else 1.5
    prompt, done = int(chars / per), max(1, int(len(text) / per))
    return {"prompt_tokens": prompt, "completion_tokens": done, "total_tokens": prompt + done}


def serve(port: int, latency_s: float = 0.0) -> None:
    """The fake server (its own process): answers after ``latency_s`` (0: at once), counts calls by
    purpose and the most in flight."""
    from aiohttp import web

    rng = random.Random(0)
    counts: Counter[str] = Counter()
    state = {"in_flight": 0, "max_in_flight": 0}

    async def completions(request: web.Request) -> web.StreamResponse:
        body = await request.json()
        state["in_flight"] += 1
        state["max_in_flight"] = max(state["max_in_flight"], state["in_flight"])
        try:
            if latency_s > 0:
                await asyncio.sleep(latency_s)
            purpose, text = answer(body, rng)
            counts[purpose] += 1
            base = {
                "id": f"fake-{sum(counts.values())}",
                "created": int(time.time()),
                "model": body.get("model", "fake"),
            }
            use = usage(body, text)
            if not body.get("stream"):
                message = {"role": "assistant", "content": text}
                choice = {"index": 0, "message": message, "finish_reason": "stop"}
                return web.json_response(
                    {**base, "object": "chat.completion", "choices": [choice], "usage": use}
                )
            resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
            await resp.prepare(request)
            chunk = {**base, "object": "chat.completion.chunk"}
            for payload in (
                {**chunk, "choices": [{"index": 0, "delta": {"role": "assistant", "content": text}, "finish_reason": None}]},
                {**chunk, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
                {**chunk, "choices": [], "usage": use},
            ):  # fmt: skip
                await resp.write(f"data: {json.dumps(payload, ensure_ascii=False)}\n\n".encode())
            await resp.write(b"data: [DONE]\n\n")
            await resp.write_eof()
            return resp
        finally:
            state["in_flight"] -= 1

    async def stats(_request: web.Request) -> web.Response:
        return web.json_response({"calls": dict(counts), **state})

    async def reset(_request: web.Request) -> web.Response:
        counts.clear()
        state["max_in_flight"] = state["in_flight"]
        return web.json_response({})

    app = web.Application(client_max_size=8 << 20)
    app.router.add_post("/v1/chat/completions", completions)
    app.router.add_get("/stats", stats)
    app.router.add_post("/reset", reset)
    web.run_app(
        app, host="127.0.0.1", port=port, print=lambda _msg: print("listening", flush=True), access_log=None
    )


@contextmanager
def fake_server(latency_s: float = 0.0) -> Iterator[str]:
    """Start the fake server in a subprocess on a free loopback port; yields its base URL."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.bench_coordinator", "--serve", str(port), "--latency", str(latency_s)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        if proc.stdout.readline().strip() != "listening":
            raise RuntimeError("the fake server did not start")
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _http(url: str, method: str = "GET") -> dict[str, Any]:
    req = urllib.request.Request(url, method=method, data=b"" if method == "POST" else None)
    with urllib.request.urlopen(req, timeout=10) as resp:  # noqa: S310 - loopback only
        data: dict[str, Any] = json.loads(resp.read())
        return data


# -- the coordinator -------------------------------------------------------------------------------
class CountingStore(Store):
    """The real store, counting its outermost transactions: the commits."""

    commits = 0

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        outer = self._in_tx == 0
        with super().transaction() as conn:
            yield conn
        if outer:
            self.commits += 1


def synth_personas(path: Path, n: int) -> Path:
    """The shipped personas, cloned until there are ``n``: clone ``k`` of ``p-en-001`` is
    ``p-en-{1 + 1000 k}`` (the shipped numbers stay under 1000)."""
    from sharehouse.personas.io import default_personas_path, load_personas, write_personas_jsonl

    shipped = load_personas(default_personas_path())

    def clone(persona: Any, k: int) -> Any:
        head, number = persona.id.rsplit("-", 1)
        return persona.model_copy(update={"id": f"{head}-{int(number) + 1000 * k:03d}"})

    out = [clone(p, k) for k in range(-(-n // len(shipped))) for p in shipped][:n]
    return write_personas_jsonl(path, out)


@dataclass
class CoordinatorFigures:
    label: str
    personas: int
    concurrency: int
    days: int
    gate: bool
    latency_s: float = 0.0
    turns: int = 0
    failed: int = 0
    calls: dict[str, int] = field(default_factory=dict)
    max_in_flight: int = 0
    commits: int = 0
    wall_s: float = 0.0
    cpu_s: float = 0.0
    user_s: float = 0.0
    sys_s: float = 0.0
    rss_start_mb: float = 0.0
    peak_rss_mb: float = 0.0
    load: str = ""

    @property
    def n_calls(self) -> int:
        return sum(self.calls.values())


def _rusage() -> tuple[float, float]:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime, ru.ru_stime


def run(
    *, personas: int, concurrency: int, days: int, gate: bool, label: str, latency_s: float = 0.0
) -> CoordinatorFigures:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    from sharehouse.engine.relevance import default_gate
    from sharehouse.llm import GenParams, load_model
    from sharehouse.simulate import SimulateOptions, run_simulate

    fig = CoordinatorFigures(
        label=label, personas=personas, concurrency=concurrency, days=days, gate=gate, latency_s=latency_s
    )
    load = load_average()
    with fake_server(latency_s) as base, tempfile.TemporaryDirectory(prefix="bench-coord-") as tmp:
        persona_file = synth_personas(Path(tmp) / "personas.jsonl", personas)
        api_base = base + "/v1"
        model = load_model("litellm:openai/fake-model", api_base=api_base)
        hello: list[Message] = [{"role": "user", "content": "hello"}]
        asyncio.run(model.complete(hello, GenParams(max_tokens=8)))  # litellm's lazy imports, off the clock
        if gate:
            warm = default_gate()
            if warm is None:
                raise RuntimeError("the relevance gate needs the evaluator's encoders (the eval extra)")
            for lang in ("en", "ja", "zh"):
                warm.cosine("What do you do on Sundays?", "I sleep in.", lang)
                warm.nearest_evasion("I sleep in.", lang)
        _http(base + "/reset", "POST")
        opts = SimulateOptions(
            persona_file=persona_file, n_personas=personas, model="litellm:openai/fake-model", api_base=api_base,
            concurrency=concurrency, days=days, progress=False, run_id=f"coord-{label}", relevance_gate=gate,
        )  # fmt: skip
        store = CountingStore(Path(tmp) / "coord.duckdb")
        try:
            fig.rss_start_mb = current_rss_mb()
            commits0 = store.commits
            u0, s0 = _rusage()
            started = time.perf_counter()
            result = asyncio.run(run_simulate(store, opts, npc_model=model))
            fig.wall_s = time.perf_counter() - started
            u1, s1 = _rusage()
            fig.commits = store.commits - commits0
        finally:
            store.close()
        stats = _http(base + "/stats")
    fig.user_s, fig.sys_s = u1 - u0, s1 - s0
    fig.cpu_s = fig.user_s + fig.sys_s
    fig.peak_rss_mb = peak_rss_mb()
    fig.turns, fig.failed = result.stats.turns, result.stats.failed
    fig.calls, fig.max_in_flight = stats["calls"], int(stats["max_in_flight"])
    fig.load = f"{load} → {load_average()}"
    return fig


def code_version() -> str:
    """The commit measured, and how many files of the checkout differed from it."""
    from bench.common import ROOT

    def git(*args: str) -> str:
        done = subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True, check=False)
        return done.stdout.strip()

    changed = [line for line in git("status", "--porcelain", "--untracked-files=no").splitlines() if line]
    return f"commit {git('rev-parse', '--short', 'HEAD')}" + (
        f" with {len(changed)} changed file(s) in the checkout" if changed else ""
    )


def report(figs: list[CoordinatorFigures], uptime: str) -> str:
    rows = []
    for f in figs:
        calls = " / ".join(str(f.calls.get(p, 0)) for p in ("npc", "user", "check"))
        rows.append(
            [f.label, f"{f.personas} × {f.days} d", f.concurrency, f"{f.latency_s:g}", f.turns, f.failed, f"{f.n_calls} ({calls})",
             f.max_in_flight, f"{f.wall_s:.1f}", f"{f.cpu_s:.1f} ({f.user_s:.1f} + {f.sys_s:.1f})",
             f"{f.cpu_s / max(1, f.turns) * 1000:.1f}", f"{f.cpu_s / max(1, f.n_calls) * 1000:.1f}",
             f"{f.turns / f.wall_s:.1f}", f"{f.commits / f.wall_s:.1f}", f"{f.commits / max(1, f.turns):.1f}",
             f"{f.rss_start_mb:.0f} → {f.peak_rss_mb:.0f}", f.load]
        )  # fmt: skip
    header = [
        "run", "personas × days", "concurrency", "server latency s", "turns", "failed", "calls (npc / user / check)", "most in flight",
        "wall s", "CPU s (user + sys)", "CPU ms/turn", "CPU ms/call", "turns/s", "commits/s", "commits/turn",
        "RSS MiB start → peak", "load avg",
    ]  # fmt: skip
    return (
        "The real `run_simulate` (session runner, simulated users, reply check, DuckDB store in one file) "
        "against a fake OpenAI-compatible server in another process on 127.0.0.1 that answers every call "
        "at once; the coordinator's own CPU (all its threads) per turn is what a fleet's coordinator pays "
        "per turn when the model is elsewhere. Personas: the 100 shipped ones, cloned with new ids.\n\n"
        + markdown_table(header, rows)
        + f"\n\nCode: {code_version()}. `uptime` after: {uptime}"
    )


def main(argv: Sequence[str] | None = None) -> list[CoordinatorFigures]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--personas", type=int, default=256)
    parser.add_argument("--concurrency", type=int, default=256)
    parser.add_argument("--days", type=int, default=1)
    parser.add_argument("--no-gate", action="store_true", help="only the run without the relevance gate")
    parser.add_argument(
        "--latency",
        type=float,
        default=0.0,
        help="the fake server waits this long per call (default: answers at once)",
    )
    parser.add_argument("--write", action="store_true", help="store the report in bench/RESULTS.md")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.serve, args.latency)
        return []
    figs = []
    for gate in (False,) if args.no_gate else (False, True):  # gate off first: its peak RSS has no encoders
        label = "relevance gate on" if gate else "relevance gate off"
        figs.append(
            run(
                personas=args.personas,
                concurrency=args.concurrency,
                days=args.days,
                gate=gate,
                label=label,
                latency_s=args.latency,
            )  # fmt: skip
        )
    uptime = subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()
    publish(SECTION, report(figs, uptime), write=args.write)
    return figs


if __name__ == "__main__":
    main()
